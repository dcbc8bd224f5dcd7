// One file per API in this folder; each registers its handler and the version range it serves.
#pragma once

namespace runnel::server {

class dispatch;

void register_api_versions(dispatch& d);
void register_metadata(dispatch& d);
void register_produce(dispatch& d);
void register_fetch(dispatch& d);
void register_list_offsets(dispatch& d);
void register_create_topics(dispatch& d);
void register_delete_topics(dispatch& d);
void register_create_partitions(dispatch& d);
void register_describe_configs(dispatch& d);
void register_describe_cluster(dispatch& d);
void register_delete_records(dispatch& d);
void register_find_coordinator(dispatch& d);
void register_join_group(dispatch& d);
void register_sync_group(dispatch& d);
void register_heartbeat(dispatch& d);
void register_leave_group(dispatch& d);
void register_offset_commit(dispatch& d);
void register_offset_fetch(dispatch& d);
void register_list_groups(dispatch& d);
void register_describe_groups(dispatch& d);
void register_delete_groups(dispatch& d);
void register_offset_delete(dispatch& d);
void register_consumer_group_heartbeat(dispatch& d);
void register_consumer_group_describe(dispatch& d);
void register_init_producer_id(dispatch& d);
void register_add_partitions_to_txn(dispatch& d);
void register_add_offsets_to_txn(dispatch& d);
void register_end_txn(dispatch& d);
void register_describe_transactions(dispatch& d);
void register_list_transactions(dispatch& d);
void register_describe_producers(dispatch& d);
void register_txn_offset_commit(dispatch& d);

inline void register_handlers(dispatch& d) {
    register_api_versions(d);
    register_metadata(d);
    register_produce(d);
    register_fetch(d);
    register_list_offsets(d);
    register_create_topics(d);
    register_delete_topics(d);
    register_create_partitions(d);
    register_describe_configs(d);
    register_describe_cluster(d);
    register_delete_records(d);
    register_find_coordinator(d);
    register_join_group(d);
    register_sync_group(d);
    register_heartbeat(d);
    register_leave_group(d);
    register_offset_commit(d);
    register_offset_fetch(d);
    register_list_groups(d);
    register_describe_groups(d);
    register_delete_groups(d);
    register_offset_delete(d);
    register_consumer_group_heartbeat(d);
    register_consumer_group_describe(d);
    register_init_producer_id(d);
    register_add_partitions_to_txn(d);
    register_add_offsets_to_txn(d);
    register_end_txn(d);
    register_describe_transactions(d);
    register_list_transactions(d);
    register_describe_producers(d);
    register_txn_offset_commit(d);
}

}  // namespace runnel::server
