#pragma once
// The reference semantics of TemplateRenderer: its first implementation, kept verbatim as an
// oracle. It converts the whole view (TemplateRenderer::View) into kainjow data and parses the
// template with kainjow on every call. template_renderer_test.cc checks that the renderer's
// fast paths and caches give the same output and the same errors; bench/template_bench.cc
// measures the renderer against it.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include <boost/json.hpp>
#include <kainjow/mustache.hpp>

#include "nodes/template_renderer.h"
#include "storage/records.h"

namespace reach::nodes::testing {

namespace reference_detail {

inline std::string NumberText(const boost::json::value& v) {
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  double d = v.as_double();
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9007199254740992.0)
    return std::to_string(static_cast<int64_t>(d));
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return ec == std::errc() ? std::string(buf, end) : std::string();
}

inline kainjow::mustache::data ToData(const boost::json::value& v) {
  using kainjow::mustache::data;
  switch (v.kind()) {
    case boost::json::kind::string: return data(std::string(v.get_string()));
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_: return data(NumberText(v));
    case boost::json::kind::bool_: return data(v.get_bool());
    case boost::json::kind::null: return data(false);
    case boost::json::kind::array: {
      data list(data::type::list);
      for (const boost::json::value& item : v.get_array()) list.push_back(ToData(item));
      return list;
    }
    case boost::json::kind::object: {
      data object(data::type::object);
      for (const auto& kv : v.get_object()) object.set(std::string(kv.key()), ToData(kv.value()));
      return object;
    }
  }
  return data(false);
}

inline std::string Identity(const std::string& s) { return s; }

}  // namespace reference_detail

// The view converted once, as the first renderer did in its constructor.
struct ReferenceData {
  ReferenceData(const storage::UserRecord& user, const boost::json::value* event, const boost::json::object& ctx)
      : root(reference_detail::ToData(TemplateRenderer::View(user, event, ctx))) {}
  kainjow::mustache::data root;
};

// TemplateRenderer::Render as first written: a parse per call, rendered through a stream.
inline bool ReferenceRender(const ReferenceData& data, std::string_view text, std::string& out, std::string& error) {
  if (text.find("{{") == std::string_view::npos) {
    out.assign(text);
    return true;
  }
  try {
    kainjow::mustache::mustache tmpl{std::string(text)};
    if (!tmpl.is_valid()) {
      error = tmpl.error_message();
      return false;
    }
    tmpl.set_custom_escape(reference_detail::Identity);
    out = tmpl.render(data.root);
    if (!tmpl.is_valid()) {
      error = tmpl.error_message();
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

// TemplateRenderer::RenderStrings as first written, over ReferenceRender.
inline bool ReferenceRenderAt(const ReferenceData& data, boost::json::value& value, std::string& path,
                              std::string& error) {
  if (value.is_string()) {
    std::string out, why;
    if (!ReferenceRender(data, value.get_string(), out, why)) {
      error = path.empty() ? why : path + ": " + why;
      return false;
    }
    value = out;
    return true;
  }
  const size_t mark = path.size();
  if (value.is_object()) {
    for (auto& kv : value.get_object()) {
      if (!path.empty()) path += '.';
      path += kv.key();
      if (!ReferenceRenderAt(data, kv.value(), path, error)) return false;
      path.resize(mark);
    }
  } else if (value.is_array()) {
    boost::json::array& items = value.get_array();
    for (size_t i = 0; i < items.size(); ++i) {
      path += "[" + std::to_string(i) + "]";
      if (!ReferenceRenderAt(data, items[i], path, error)) return false;
      path.resize(mark);
    }
  }
  return true;
}

inline bool ReferenceRenderStrings(const ReferenceData& data, boost::json::value& value, std::string& error) {
  std::string path;
  return ReferenceRenderAt(data, value, path, error);
}

}  // namespace reach::nodes::testing
