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
}

}  // namespace runnel::server
