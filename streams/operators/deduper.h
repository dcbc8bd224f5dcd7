// "dedupe": drops a record whose `by` was already seen less than `within` of event time apart.
// State keys:  "d" value -> the times it was kept (CBOR list);  "y" time value -> ""  (for
// expiry in time order).
#pragma once

#include "streams/records/stream_record.h"
#include "streams/spec/pipeline_spec.h"
#include "streams/state/state_store.h"

namespace runnel::streams {

class deduper {
  public:
    deduper(const dedupe_step& spec, state_store& store) : spec_(spec), store_(store) {}

    // True the first time (within the span) `r`'s value of `by` is seen; it is remembered then.
    bool first_seen(const stream_record& r);
    // Forgets what was seen before watermark - within (no record that is kept could match it).
    void expire_until(int64_t watermark);

  private:
    const dedupe_step& spec_;
    state_store& store_;
};

}  // namespace runnel::streams
