#pragma once
// Compiles one node declaration (a YAML map) with the built-in kind named by its `type:`, the
// way the flow compiler does: spec->Compile, then FieldReader::Finish. Errors come back as
// "line:col: message", sorted by position.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dsl/diagnostics.h"
#include "dsl/node_kind.h"
#include "dsl/yaml_doc.h"
#include "nodes/builtin_kinds.h"

namespace reach::nodes::testing {

struct Compiled {
  const dsl::NodeKindSpec* spec = nullptr;
  std::shared_ptr<const dsl::NodeConfig> config;
  std::vector<std::string> errors;

  template <class Config>
  const Config& as() const {
    const auto* c = dynamic_cast<const Config*>(config.get());
    EXPECT_NE(c, nullptr) << "no config of the expected type";
    static const Config kEmpty{};
    return c ? *c : kEmpty;
  }
  dsl::NodeRole role() const { return spec->Role(*config); }
};

inline Compiled CompileNode(const std::string& yaml) {
  Compiled out;
  dsl::SourceSet sources;
  uint32_t file = sources.Add("flow.yaml", yaml);
  dsl::Diagnostics diags;
  dsl::YamlNode decl = dsl::ParseYaml(sources, file, diags);
  const dsl::YamlNode* type = decl.Find("type");
  EXPECT_TRUE(diags.empty() && type) << "bad test input:\n" << diags.Format(sources);
  if (!type) return out;
  out.spec = BuiltinKinds().Find(type->scalar);
  EXPECT_NE(out.spec, nullptr) << "no kind " << type->scalar;
  if (!out.spec) return out;
  dsl::FieldReader fields(decl, type->scalar, sources, diags);
  out.config = out.spec->Compile(fields);
  fields.Finish();
  // Finish may find unknown fields after a successful Compile; the compiler then rejects the
  // node, and so do we.
  if (fields.failed()) out.config = nullptr;
  std::vector<dsl::Diagnostic> list = diags.list();
  std::stable_sort(list.begin(), list.end(), [](const dsl::Diagnostic& a, const dsl::Diagnostic& b) {
    return a.where.pos.line != b.where.pos.line ? a.where.pos.line < b.where.pos.line
                                                : a.where.pos.col < b.where.pos.col;
  });
  for (const dsl::Diagnostic& d : list)
    out.errors.push_back(std::to_string(d.where.pos.line) + ":" + std::to_string(d.where.pos.col) + ": " + d.message);
  return out;
}

// Compiles a declaration that must be valid.
inline Compiled CompileOk(const std::string& yaml) {
  Compiled out = CompileNode(yaml);
  EXPECT_TRUE(out.errors.empty()) << ::testing::PrintToString(out.errors) << "\nin:\n" << yaml;
  EXPECT_NE(out.config, nullptr) << yaml;
  return out;
}

// Compiles a declaration that must fail, and returns its errors.
inline std::vector<std::string> ErrorsOf(const std::string& yaml) {
  Compiled out = CompileNode(yaml);
  EXPECT_EQ(out.config, nullptr) << "compiled:\n" << yaml;
  EXPECT_FALSE(out.errors.empty()) << yaml;
  return out.errors;
}

using Errors = std::vector<std::string>;

}  // namespace reach::nodes::testing
