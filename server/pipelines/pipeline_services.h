// What the pipeline runtime uses of the broker: the cluster (topics, partitions, shards) and
// the two coordinators its transactions go through, as a client's would.
#pragma once

namespace runnel::server {
class cluster_context;
namespace groups {
class coordinator_set;
}
namespace transactions {
class transaction_coordinator_set;
}
}  // namespace runnel::server

namespace runnel::server::pipelines {

struct pipeline_services {
    cluster_context& cluster;
    groups::coordinator_set& groups;
    transactions::transaction_coordinator_set& transactions;
};

}  // namespace runnel::server::pipelines
