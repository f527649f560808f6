#include "esp-kernel/dataplane.hpp"

#include "esp-kernel/userspace/userspace_dataplane.hpp"
#include "esp-kernel/xfrm/xfrm_dataplane.hpp"

namespace ikeme::esp {

std::string_view name(Backend b) {
  switch (b) {
    case Backend::Auto:
      return "auto";
    case Backend::Xfrm:
      return "xfrm";
    case Backend::Userspace:
      return "userspace";
    case Backend::None:
      return "none";
  }
  return "?";
}

namespace {

Result<std::unique_ptr<Dataplane>, std::string> make_xfrm(uv_loop_t* loop,
                                                          const DataplaneOptions& options,
                                                          DataplaneHooks& hooks) {
  // Configured explicitly: say why the kernel cannot do it rather than failing on the first SA.
  if (auto probe = probe_kernel_esp(); !probe) return Unexpected{"xfrm: " + probe.error()};
  return make_xfrm_dataplane(loop, options, hooks);
}

Result<std::unique_ptr<Dataplane>, std::string> make_userspace(uv_loop_t* loop,
                                                               const DataplaneOptions& options,
                                                               DataplaneHooks& hooks) {
  auto d = UserspaceDataplane::create(loop, options, hooks);
  if (!d) return Unexpected{"userspace data plane: " + d.error()};
  return std::unique_ptr<Dataplane>(std::move(*d));
}

}  // namespace

Result<std::unique_ptr<Dataplane>, std::string> make_dataplane(uv_loop_t* loop,
                                                               const DataplaneOptions& options,
                                                               DataplaneHooks hooks) {
  auto log = [&](int level, const std::string& text) {
    if (hooks.log) hooks.log(ike::Subsystem::KNL, level, text);
  };
  switch (options.backend) {
    case Backend::None:
      return Unexpected{std::string("esp_backend none: no data plane to create")};
    case Backend::Xfrm:
      log(1, "ESP data plane: xfrm (configured)");
      return make_xfrm(loop, options, hooks);
    case Backend::Userspace:
      log(1, "ESP data plane: userspace (configured)");
      return make_userspace(loop, options, hooks);
    case Backend::Auto:
      break;
  }
  auto probe = probe_kernel_esp();
  if (probe) {
    auto x = make_xfrm_dataplane(loop, options, hooks);
    if (x) {
      log(0, "ESP data plane: xfrm (esp_backend auto: the kernel accepts ESP states)");
      return x;
    }
    log(0, "ESP data plane: userspace (esp_backend auto: the kernel accepts ESP states, but " +
               x.error() + ")");
  } else {
    log(0, "ESP data plane: userspace (esp_backend auto: the kernel cannot carry ESP: " +
               probe.error() + ")");
  }
  return make_userspace(loop, options, hooks);
}

}  // namespace ikeme::esp
