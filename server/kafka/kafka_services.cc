#include "server/kafka/kafka_services.h"

#include <algorithm>

namespace runnel::server {

const advertised_endpoint& kafka_services::endpoint_for(const std::string& listener) const {
    for (const auto& e : endpoints_) {
        if (e.listener == listener) return e;
    }
    return endpoints_.front();
}

std::vector<broker_address> kafka_services::brokers_on(const std::string& listener) const {
    std::vector<broker_address> out;
    auto members = cluster_.members().snapshot();
    bool self_listed = false;
    for (const auto& m : members->brokers) {
        const member_endpoint* e = m.endpoint(listener);
        if (m.id == node_id()) {
            // This broker answers with its own addresses, even before its registration is seen.
            const auto& own = endpoint_for(listener);
            out.push_back({m.id, own.host, own.port, m.rack});
            self_listed = true;
        } else if (e != nullptr) {
            out.push_back({m.id, e->host, e->port, m.rack});
        }
    }
    if (!self_listed) {
        const auto& own = endpoint_for(listener);
        broker_address self{node_id(), own.host, own.port, std::nullopt};
        if (!config().broker_rack.empty()) self.rack = config().broker_rack;
        auto at = std::find_if(out.begin(), out.end(),
                               [&](const broker_address& b) { return b.id > self.id; });
        out.insert(at, std::move(self));
    }
    return out;
}

}  // namespace runnel::server
