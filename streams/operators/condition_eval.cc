#include "streams/operators/condition_eval.h"

namespace runnel::streams {

namespace {

// Equality the way a YAML author means it: numbers by value (1 equals 1.0), anything else by
// its text, so a string field "10" equals 10 and a boolean equals true.
bool same(const json& subject, const json& operand) {
    if (subject.is_number() && operand.is_number()) {
        return subject.get<double>() == operand.get<double>();
    }
    if (subject.is_null() || operand.is_null()) return subject.is_null() && operand.is_null();
    return to_text(subject) == to_text(operand);
}

int compare_numbers(const json& subject, const json& operand) {
    double a = subject.get<double>(), b = operand.get<double>();
    return a < b ? -1 : (a > b ? 1 : 0);
}

}  // namespace

bool holds(const condition& c, const stream_record& r) {
    using kind = condition::kind;
    switch (c.test) {
        case kind::all:
            for (const auto& child : c.children) {
                if (!holds(child, r)) return false;
            }
            return true;
        case kind::any:
            for (const auto& child : c.children) {
                if (holds(child, r)) return true;
            }
            return false;
        case kind::negate:
            return !holds(c.children.front(), r);
        default:
            break;
    }
    json scratch;
    const json* subject = c.subject.find(r, scratch);
    if (c.test == kind::not_equals) return !subject || !same(*subject, c.operand);
    if (!subject) return false;
    switch (c.test) {
        case kind::exists:
            return !subject->is_null();
        case kind::equals:
            return same(*subject, c.operand);
        case kind::one_of:
            for (const auto& v : c.operand) {
                if (same(*subject, v)) return true;
            }
            return false;
        case kind::starts_with:
        case kind::ends_with:
        case kind::contains: {
            if (!subject->is_string()) return false;
            const auto& s = subject->get_ref<const std::string&>();
            auto needle = to_text(c.operand);
            if (c.test == kind::starts_with) return s.starts_with(needle);
            if (c.test == kind::ends_with) return s.ends_with(needle);
            return s.find(needle) != std::string::npos;
        }
        case kind::matches:
            return subject->is_string() &&
                   RE2::PartialMatch(subject->get_ref<const std::string&>(), *c.regex);
        case kind::greater_than:
            return subject->is_number() && compare_numbers(*subject, c.operand) > 0;
        case kind::less_than:
            return subject->is_number() && compare_numbers(*subject, c.operand) < 0;
        case kind::at_least:
            return subject->is_number() && compare_numbers(*subject, c.operand) >= 0;
        case kind::at_most:
            return subject->is_number() && compare_numbers(*subject, c.operand) <= 0;
        default:
            return false;
    }
}

}  // namespace runnel::streams
