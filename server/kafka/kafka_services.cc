#include "server/kafka/kafka_services.h"

namespace runnel::server {

const advertised_endpoint& kafka_services::endpoint_for(const std::string& listener) const {
    for (const auto& e : endpoints_) {
        if (e.listener == listener) return e;
    }
    return endpoints_.front();
}

}  // namespace runnel::server
