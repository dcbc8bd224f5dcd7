#include "server/cluster/topic_registry.h"

#include <random>

#include "storage/partition_dir.h"

namespace runnel::server {

std::shared_ptr<topics_snapshot> topics_snapshot::with(
    std::shared_ptr<const topic_metadata> t) const {
    auto next = std::make_shared<topics_snapshot>(*this);
    if (auto old = next->find(t->name)) {
        next->by_id.erase(old->id);
        next->partition_count -= old->partition_count();
    } else {
        ++next->names_version;
    }
    next->partition_count += t->partition_count();
    next->by_id[t->id] = t;
    next->by_name[t->name] = std::move(t);
    return next;
}

std::shared_ptr<topics_snapshot> topics_snapshot::without(std::string_view name) const {
    auto next = std::make_shared<topics_snapshot>(*this);
    if (auto old = next->find(name)) {
        next->partition_count -= old->partition_count();
        next->by_id.erase(old->id);
        next->by_name.erase(next->by_name.find(name));
        ++next->names_version;
    }
    return next;
}

protocol::uuid random_uuid() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    protocol::uuid id{};
    for (;;) {
        for (size_t i = 0; i < 16; i += 8) {
            uint64_t v = rng();
            for (size_t j = 0; j < 8; ++j) id[i + j] = static_cast<uint8_t>(v >> (8 * j));
        }
        // Version 4 UUID bits, as Kafka's Uuid.randomUuid produces.
        id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x40);
        id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);
        // Kafka reserves the all-zero id and ids whose text starts with '-' (KAFKA-12454).
        if (id != protocol::zero_uuid && storage::topic_id_to_string(id)[0] != '-') return id;
    }
}

}  // namespace runnel::server
