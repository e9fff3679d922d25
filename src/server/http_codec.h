#pragma once
// The translation between Beast messages and the plain HttpRequest / HttpResponse the handlers
// see, and the small text rules it relies on (percent-decoding, query strings, request ids).
// Pure functions: no sockets, no state, thread-safe.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http_types.h"

namespace reach::server {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Decodes %XX escapes (either case) into `out`; with `plus_as_space` (query components) '+'
// becomes ' '. Returns false for a truncated or non-hex escape, and for an escaped NUL.
bool PercentDecode(std::string_view in, bool plus_as_space, std::string& out);

// Parses "a=1&b=x+y&flag" into {a:"1", b:"x y", flag:""}: components decoded, empty ones
// skipped, the last of a repeated name wins. False when an escape is malformed.
bool ParseQueryString(std::string_view query, std::map<std::string, std::string>& out);

// The segments of `target`'s path, each decoded on its own after the split, so that an encoded
// '/' ("%2F") stays inside its segment: "/v1/users/a%2Fb?x=1" -> {"v1", "users", "a/b"}; "/"
// -> {}. False when a segment is empty ("//", a trailing '/'), does not decode, or the target is
// not a path: no route has such a path.
bool PathSegments(std::string_view target, std::vector<std::string>& out);

// True for a client-supplied request id we echo back: 1–64 characters of [A-Za-z0-9._-].
bool IsValidRequestId(std::string_view id);
// 16 lower-case hex characters from a per-thread random generator.
std::string NewRequestId();

// {"error": message} (and, when limit > 0, "limit": limit) as compact JSON.
std::string ErrorBody(std::string_view message, uint64_t limit = 0);

// Fills `out` from a parsed request (moving the body out of `message`): method, target, decoded
// path (origin-form or absolute-form target) and query, lower-cased header names, `remote`, and
// the request id (X-Request-Id when valid, else a new one). False when the target is not a
// path or does not decode: the caller answers 400.
bool ToHttpRequest(BeastRequest&& message, std::string remote, HttpRequest& out);

// The request id for a request that failed before ToHttpRequest (a header block may or may
// not have been parsed).
std::string RequestIdFrom(const BeastRequest& message);

// Writes the whole wire response into `out` (replacing what was there; its capacity is
// reused): the status line (a status outside 200..599 becomes 500: a handler's answer is
// final), `Server: reach`, Content-Type, X-Request-Id, the extra headers — minus those the
// server owns (Content-Length, Transfer-Encoding, Connection, Content-Type, Server,
// X-Request-Id), any whose name is not a token and any whose value holds a control character
// (RFC 9110: CR, LF, NUL ...; a Content-Type like that is left out too) — `Connection` per
// `keep_alive` and the version, Content-Length, and the body. For a HEAD request the body is
// dropped but Content-Length still gives its size; a 204 or 304 has neither (RFC 9110 section
// 8.6; Beast 1.81 writes "Content-Length: 0" there). Otherwise byte for byte what Beast's
// serializer writes for the same message (a test holds it to that): one string, reused,
// instead of a Beast message with an allocation per field, whose serialization was ~20 k
// instructions of each POST /v1/events on the io thread. Returns the status written.
int FormatResponse(HttpResponse&& response, const std::string& request_id, unsigned http_version,
                   bool keep_alive, bool head_request, std::string& out);

}  // namespace reach::server
