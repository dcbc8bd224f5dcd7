// Whether a record meets a filter's or a route rule's condition.
#pragma once

#include "streams/records/stream_record.h"
#include "streams/spec/pipeline_spec.h"

namespace runnel::streams {

bool holds(const condition& c, const stream_record& r);

}  // namespace runnel::streams
