#include "common/status.h"

#include <exception>
#include <new>

namespace reach {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kIoError: return "IoError";
    case StatusCode::kCorruption: return "Corruption";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kAborted: return "Aborted";
    case StatusCode::kDataLoss: return "DataLoss";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(StatusCodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status StatusOfCurrentException(std::string_view who) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return Status::Unavailable(std::string(who) + " ran out of memory");
  } catch (const std::exception& e) {
    return Status::Internal(std::string(who) + " threw: " + e.what());
  } catch (...) {
    return Status::Internal(std::string(who) + " threw a non-standard exception");
  }
}

}  // namespace reach
