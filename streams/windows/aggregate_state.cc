#include "streams/windows/aggregate_state.h"

#include <algorithm>
#include <cstring>

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

// The stored form, read and written once per update: the count, then per function only what it
// needs (sum, values, min, max for the numeric ones; the distinct values, length-prefixed, for
// count_distinct), little-endian as the machine holds them.
namespace {

template <class T>
void put_raw(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
bool get_raw(std::string_view& in, T& v) {
    if (in.size() < sizeof v) return false;
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return true;
}

}  // namespace

std::string aggregate_state::encode() const {
    std::string out;
    out.reserve(16);
    put_raw(out, count_);
    for (size_t i = 0; i < accumulators_.size(); ++i) {
        const auto& a = accumulators_[i];
        switch (spec_->functions[i].fn) {
            case aggregate_function::kind::count:
                break;
            case aggregate_function::kind::count_distinct:
                put_raw(out, static_cast<uint32_t>(a.distinct.size()));
                for (const auto& d : a.distinct) {
                    put_raw(out, static_cast<uint32_t>(d.size()));
                    out += d;
                }
                break;
            default:
                put_raw(out, a.sum);
                put_raw(out, a.values);
                put_raw(out, a.min);
                put_raw(out, a.max);
        }
    }
    return out;
}

std::optional<aggregate_state> aggregate_state::decode(const aggregate_step& spec,
                                                       std::string_view bytes) {
    aggregate_state s(spec);
    if (!get_raw(bytes, s.count_)) return std::nullopt;
    for (size_t i = 0; i < s.accumulators_.size(); ++i) {
        auto& a = s.accumulators_[i];
        switch (spec.functions[i].fn) {
            case aggregate_function::kind::count:
                break;
            case aggregate_function::kind::count_distinct: {
                uint32_t n = 0;
                if (!get_raw(bytes, n)) return std::nullopt;
                for (uint32_t j = 0; j < n; ++j) {
                    uint32_t len = 0;
                    if (!get_raw(bytes, len) || bytes.size() < len) return std::nullopt;
                    a.distinct.emplace(bytes.substr(0, len));
                    bytes.remove_prefix(len);
                }
                break;
            }
            default:
                if (!get_raw(bytes, a.sum) || !get_raw(bytes, a.values) || !get_raw(bytes, a.min) ||
                    !get_raw(bytes, a.max)) {
                    return std::nullopt;
                }
        }
    }
    // Bytes left over: written for other functions (a changed pipeline file).
    if (!bytes.empty()) return std::nullopt;
    return s;
}

}  // namespace runnel::streams
