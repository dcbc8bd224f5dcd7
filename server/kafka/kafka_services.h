// What the Kafka handlers reach: the cluster (topics, partitions, topic administration), the group
// and transaction coordinators, the API table, and how this broker is known to clients. One per
// broker, built by it; a request_context refers to it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "server/cluster/cluster_context.h"
#include "server/kafka/dispatch.h"

namespace runnel::server {

namespace groups {
class coordinator_set;
}
namespace transactions {
class transaction_coordinator_set;
}

// Where clients reach this broker through one of its listeners.
using advertised_endpoint = member_endpoint;

// A broker as Metadata and DescribeCluster list it, reached through one listener name.
struct broker_address {
    int32_t id = -1;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;
};

class kafka_services {
  public:
    kafka_services(cluster_context& cluster, groups::coordinator_set& groups,
                   transactions::transaction_coordinator_set& transactions)
        : cluster_(cluster), groups_(groups), transactions_(transactions) {}

    cluster_context& cluster() { return cluster_; }
    groups::coordinator_set& groups() { return groups_; }
    transactions::transaction_coordinator_set& transactions() { return transactions_; }
    const dispatch& api_dispatch() const { return dispatch_; }

    // The cluster's parts the handlers use most, without spelling cluster() each time.
    const broker_config& config() const { return cluster_.config(); }
    // With the dynamic broker configs applied (cluster_context::live_config).
    std::shared_ptr<const broker_config> live_config() const { return cluster_.live_config(); }
    shard_set& shards() { return cluster_.shards(); }
    asio::thread_pool& io_pool() { return cluster_.io_pool(); }
    topic_registry& topics() { return cluster_.topics(); }
    partition_store& partitions_on(shard_id id) { return cluster_.partitions_on(id); }
    topic_admin& admin() { return cluster_.admin(); }
    server::producer_ids& producer_ids() { return cluster_.producer_ids(); }

    int32_t node_id() const { return cluster_.node_id(); }
    const std::string& cluster_id() const { return cluster_id_; }
    // Where clients reach this broker through `listener` (the first listener's address for an
    // unknown name).
    const advertised_endpoint& endpoint_for(const std::string& listener) const;
    // Start-up, before any request is served: the cluster id from meta.properties and the
    // listeners' addresses once bound.
    void set_cluster_id(std::string id) { cluster_id_ = std::move(id); }
    void add_endpoint(advertised_endpoint e) { endpoints_.push_back(std::move(e)); }
    const std::vector<advertised_endpoint>& endpoints() const { return endpoints_; }
    // The live brokers a client that came in through `listener` can reach, by id: those with
    // an endpoint of that name (as Kafka answers), this broker always among them.
    std::vector<broker_address> brokers_on(const std::string& listener) const;
    // The controller's id, -1 while none is known.
    int32_t controller_id() const { return cluster_.members().snapshot()->controller_id; }

  private:
    cluster_context& cluster_;
    groups::coordinator_set& groups_;
    transactions::transaction_coordinator_set& transactions_;
    dispatch dispatch_;
    std::string cluster_id_;
    std::vector<advertised_endpoint> endpoints_;
};

}  // namespace runnel::server
