#include "server/kafka/dispatch.h"

namespace runnel::server {

dispatch::dispatch() { register_handlers(*this); }

std::vector<const api_handler*> dispatch::all() const {
    std::vector<const api_handler*> out;
    for (const auto& h : handlers_) {
        if (h.run && h.advertised) out.push_back(&h);
    }
    return out;
}

}  // namespace runnel::server
