#include "streams/windows/aggregate_state.h"

#include <algorithm>

namespace runnel::streams {

aggregate_state::aggregate_state(const aggregate_step& spec)
    : spec_(&spec), accumulators_(spec.functions.size()) {}

void aggregate_state::add(const stream_record& r) {
    ++count_;
    json scratch;
    for (size_t i = 0; i < spec_->functions.size(); ++i) {
        const auto& f = spec_->functions[i];
        if (f.fn == aggregate_function::kind::count) continue;
        const json* v = f.of->find(r, scratch);
        if (!v || v->is_null()) continue;
        auto& a = accumulators_[i];
        if (f.fn == aggregate_function::kind::count_distinct) {
            a.distinct.insert(to_text(*v));
            continue;
        }
        if (!v->is_number()) continue;
        double x = v->get<double>();
        a.min = a.values ? std::min(a.min, x) : x;
        a.max = a.values ? std::max(a.max, x) : x;
        a.sum += x;
        ++a.values;
    }
}

void aggregate_state::merge(const aggregate_state& other) {
    count_ += other.count_;
    for (size_t i = 0; i < accumulators_.size(); ++i) {
        auto& a = accumulators_[i];
        const auto& b = other.accumulators_[i];
        if (b.values) {
            a.min = a.values ? std::min(a.min, b.min) : b.min;
            a.max = a.values ? std::max(a.max, b.max) : b.max;
            a.sum += b.sum;
            a.values += b.values;
        }
        a.distinct.insert(b.distinct.begin(), b.distinct.end());
    }
}

json aggregate_state::results() const {
    json out = json::object();
    for (size_t i = 0; i < spec_->functions.size(); ++i) {
        const auto& f = spec_->functions[i];
        const auto& a = accumulators_[i];
        // A whole-number sum, min or max reads as an integer (a count of items, say).
        auto number = [](double x) -> json {
            if (x == static_cast<double>(static_cast<int64_t>(x)) && x > -9e15 && x < 9e15) {
                return static_cast<int64_t>(x);
            }
            return x;
        };
        switch (f.fn) {
            case aggregate_function::kind::count:
                out[f.output] = count_;
                break;
            case aggregate_function::kind::sum:
                out[f.output] = number(a.sum);
                break;
            case aggregate_function::kind::min:
                out[f.output] = a.values ? number(a.min) : json(nullptr);
                break;
            case aggregate_function::kind::max:
                out[f.output] = a.values ? number(a.max) : json(nullptr);
                break;
            case aggregate_function::kind::avg:
                out[f.output] = a.values ? json(a.sum / a.values) : json(nullptr);
                break;
            case aggregate_function::kind::count_distinct:
                out[f.output] = a.distinct.size();
                break;
        }
    }
    return out;
}

std::string aggregate_state::encode() const {
    json parts = json::array({count_});
    for (const auto& a : accumulators_) {
        parts.push_back(json::array({a.sum, a.values, a.min, a.max, a.distinct}));
    }
    auto bytes = json::to_cbor(parts);
    return std::string(bytes.begin(), bytes.end());
}

std::optional<aggregate_state> aggregate_state::decode(const aggregate_step& spec,
                                                       std::string_view bytes) {
    json parts = json::from_cbor(bytes, true, false);
    if (!parts.is_array() || parts.size() != spec.functions.size() + 1) return std::nullopt;
    aggregate_state s(spec);
    try {
        s.count_ = parts[0].get<int64_t>();
        for (size_t i = 0; i < s.accumulators_.size(); ++i) {
            const auto& p = parts[i + 1];
            auto& a = s.accumulators_[i];
            a.sum = p.at(0).get<double>();
            a.values = p.at(1).get<int64_t>();
            a.min = p.at(2).get<double>();
            a.max = p.at(3).get<double>();
            a.distinct = p.at(4).get<std::set<std::string>>();
        }
    } catch (const json::exception&) {
        return std::nullopt;
    }
    return s;
}

}  // namespace runnel::streams
