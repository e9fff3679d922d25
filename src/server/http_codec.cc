#include "server/http_codec.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <random>
#include <thread>
#include <utility>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace reach::server {
namespace http = boost::beast::http;

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 9110 section 5.6.2: a field name is a token (no ':', space or control character).
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != std::string_view::npos) return false;
  }
  return true;
}

// RFC 9110 section 5.5: a field value has no control character but tab (so no CR, LF or NUL).
bool IsFieldValue(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

bool IsServerOwnedHeader(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kOwned = {
      "content-length", "transfer-encoding", "connection", "content-type", "server",
      "x-request-id"};
  std::string lower;
  lower.reserve(name.size());
  for (char c : name) lower += ToLowerAscii(c);
  for (std::string_view owned : kOwned)
    if (lower == owned) return true;
  return false;
}

// The path-and-query part of a request target: "/p?q" as is, "http://host/p?q" -> "/p?q",
// "http://host" -> "/". Empty when the target is neither (e.g. "*", "host:443").
std::string_view OriginForm(std::string_view target) {
  if (!target.empty() && target.front() == '/') return target;
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.size() < scheme.size()) continue;
    bool match = true;
    for (size_t i = 0; i < scheme.size(); ++i)
      if (ToLowerAscii(target[i]) != scheme[i]) match = false;
    if (!match) continue;
    std::string_view rest = target.substr(scheme.size());
    size_t slash = rest.find_first_of("/?");
    if (slash == std::string_view::npos) return "/";
    if (rest[slash] == '?') return {};  // "http://host?q": no path; refuse rather than guess
    return rest.substr(slash);
  }
  return {};
}

}  // namespace

bool PercentDecode(std::string_view in, bool plus_as_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return false;
      out += decoded;
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

bool ParseQueryString(std::string_view query, std::map<std::string, std::string>& out) {
  std::string key, value;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view raw_key = part.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    if (!PercentDecode(raw_key, true, key) || !PercentDecode(raw_value, true, value)) return false;
    if (key.empty()) continue;
    out[key] = value;
  }
  return true;
}

bool PathSegments(std::string_view target, std::vector<std::string>& out) {
  out.clear();
  std::string_view path = OriginForm(target);
  if (path.empty()) return false;
  path = path.substr(0, path.find_first_of("?#"));
  if (path == "/") return true;
  size_t i = 1;  // past the leading '/'
  for (;;) {
    const size_t j = std::min(path.find('/', i), path.size());
    if (j == i) return false;  // an empty segment
    std::string segment;
    if (!PercentDecode(path.substr(i, j - i), false, segment)) return false;
    out.push_back(std::move(segment));
    if (j == path.size()) return true;
    i = j + 1;
  }
}

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NewRequestId() {
  // Per-thread generator: no lock on the request path. Ids need to be unique enough to find a
  // request in the logs, not unpredictable.
  thread_local std::mt19937_64 generator([] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(),
                       static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()))};
    return std::mt19937_64(seed);
  }());
  // 15 hex digits (60 bits): short enough for std::string's inline buffer, so that the id's
  // copies (the request, the session, the event's record, the execution) allocate nothing.
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t bits = generator();
  std::string id(15, '0');
  for (int i = 14; i >= 0; --i, bits >>= 4) id[static_cast<size_t>(i)] = kHex[bits & 0xf];
  return id;
}

std::string ErrorBody(std::string_view message, uint64_t limit) {
  boost::json::object body;
  body["error"] = message;
  if (limit > 0) body["limit"] = limit;
  return boost::json::serialize(body);
}

std::string RequestIdFrom(const BeastRequest& message) {
  auto it = message.find("x-request-id");
  if (it != message.end() && IsValidRequestId(it->value())) return std::string(it->value());
  return NewRequestId();
}

bool ToHttpRequest(BeastRequest&& message, std::string remote, HttpRequest& out) {
  out.method = std::string(message.method_string());
  out.target = std::string(message.target());
  out.remote = std::move(remote);
  out.headers.clear();
  // One allocation, not one per growth step.
  out.headers.reserve(static_cast<size_t>(std::distance(message.begin(), message.end())));
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (char& c : name) c = ToLowerAscii(c);
    out.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  std::string_view id = out.Header("x-request-id");
  out.request_id = IsValidRequestId(id) ? std::string(id) : NewRequestId();
  out.body = std::move(message.body());

  std::string_view origin = OriginForm(out.target);
  if (origin.empty()) return false;
  origin = origin.substr(0, origin.find('#'));  // a fragment is never meant for the server
  size_t question = origin.find('?');
  std::string_view raw_path = origin.substr(0, question);
  out.query.clear();
  if (!PercentDecode(raw_path, false, out.path)) return false;
  if (question != std::string_view::npos && !ParseQueryString(origin.substr(question + 1), out.query))
    return false;
  return true;
}

int FormatResponse(HttpResponse&& response, const std::string& request_id, unsigned http_version,
                   bool keep_alive, bool head_request, std::string& out) {
  int status = response.status;
  // A handler's answer is final: an interim 1xx would leave the client waiting for the real one.
  if (status < 200 || status > 599) status = 500;
  // A status that has no body (204, 304) gets neither a body nor a Content-Length.
  const bool bodiless = status == 204 || status == 304;
  const std::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
  out.clear();
  out.reserve(160 + response.body.size() + response.content_type.size() + request_id.size());
  out += "HTTP/";
  out += static_cast<char>('0' + http_version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + http_version % 10);
  out += ' ';
  out += std::to_string(status);
  out += ' ';
  out += reason;
  out += "\r\nServer: reach\r\n";
  auto field = [&out](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  if (IsFieldValue(response.content_type)) field("Content-Type", response.content_type);
  field("X-Request-Id", request_id);
  for (const auto& [name, value] : response.headers) {
    if (!IsToken(name) || !IsFieldValue(value) || IsServerOwnedHeader(name)) continue;
    field(name, value);
  }
  if (http_version >= 11 && !keep_alive) field("Connection", "close");
  if (http_version < 11 && keep_alive) field("Connection", "keep-alive");
  if (!bodiless) field("Content-Length", std::to_string(response.body.size()));
  out += "\r\n";
  if (!head_request && !bodiless) out += response.body;
  return status;
}

}  // namespace reach::server
