#include "nodes/builtin_kinds.h"

#include <memory>
#include <string>

#include "nodes/condition_node.h"
#include "nodes/delay_node.h"
#include "nodes/exit_node.h"
#include "nodes/expr_node.h"
#include "nodes/fail_node.h"
#include "nodes/noop_node.h"
#include "nodes/segment_node.h"
#include "nodes/set_node.h"
#include "nodes/sms_send_node.h"
#include "nodes/split_node.h"
#include "nodes/switch_node.h"
#include "nodes/tag_node.h"
#include "nodes/wait_event_node.h"
#include "nodes/webhook_node.h"
#include "nodes/wechat_subscribe_node.h"
#include "nodes/wechat_template_node.h"
#include "nodes/wecom_customer_message_node.h"
#include "nodes/wecom_message_node.h"

namespace reach::nodes {

void RegisterBuiltinKinds(dsl::NodeKindRegistry& registry) {
  registry.Register(std::make_unique<ConditionKind>());
  registry.Register(std::make_unique<SwitchKind>());
  registry.Register(std::make_unique<SegmentKind>());
  registry.Register(std::make_unique<WaitEventKind>());
  registry.Register(std::make_unique<DelayKind>());
  registry.Register(std::make_unique<WecomMessageKind>());
  registry.Register(std::make_unique<WecomCustomerMessageKind>());
  registry.Register(std::make_unique<WechatTemplateKind>());
  registry.Register(std::make_unique<WechatSubscribeKind>());
  registry.Register(std::make_unique<SmsSendKind>());
  registry.Register(std::make_unique<WebhookKind>());
  registry.Register(std::make_unique<TagKind>());
  registry.Register(std::make_unique<SetKind>());
  registry.Register(std::make_unique<SplitKind>());
  registry.Register(std::make_unique<ExitKind>());
  registry.Register(std::make_unique<ExprKind>());
  registry.Register(std::make_unique<NoopKind>());
  registry.Register(std::make_unique<FailKind>());
}

const dsl::NodeKindRegistry& BuiltinKinds() {
  static const dsl::NodeKindRegistry* const kRegistry = [] {
    auto* registry = new dsl::NodeKindRegistry();  // never destroyed: no exit-order hazards
    RegisterBuiltinKinds(*registry);
    return registry;
  }();
  return *kRegistry;
}

namespace {

template <class Kind>
void AddExecutor(engine::NodeExecutorRegistry& registry) {
  registry.Register(std::string(Kind::kType), std::make_unique<Kind>());
}

}  // namespace

void RegisterBuiltinExecutors(engine::NodeExecutorRegistry& registry) {
  AddExecutor<ConditionKind>(registry);
  AddExecutor<SwitchKind>(registry);
  AddExecutor<SegmentKind>(registry);
  AddExecutor<WaitEventKind>(registry);
  AddExecutor<DelayKind>(registry);
  AddExecutor<WecomMessageKind>(registry);
  AddExecutor<WecomCustomerMessageKind>(registry);
  AddExecutor<WechatTemplateKind>(registry);
  AddExecutor<WechatSubscribeKind>(registry);
  AddExecutor<SmsSendKind>(registry);
  AddExecutor<WebhookKind>(registry);
  AddExecutor<TagKind>(registry);
  AddExecutor<SetKind>(registry);
  AddExecutor<SplitKind>(registry);
  AddExecutor<ExitKind>(registry);
  AddExecutor<ExprKind>(registry);
  AddExecutor<NoopKind>(registry);
  AddExecutor<FailKind>(registry);
}

const engine::NodeExecutorRegistry& BuiltinExecutors() {
  static const engine::NodeExecutorRegistry* const kRegistry = [] {
    auto* registry = new engine::NodeExecutorRegistry();  // never destroyed, as BuiltinKinds()
    RegisterBuiltinExecutors(*registry);
    return registry;
  }();
  return *kRegistry;
}

}  // namespace reach::nodes
