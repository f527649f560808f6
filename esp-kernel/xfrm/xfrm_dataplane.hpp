#pragma once
// The kernel data plane: XfrmDataplane installs each CHILD_SA as two ESP SAs and their in/out/fwd
// policies (all with one reqid from DataplaneOptions::reqid_base), routes to the remote traffic
// selectors in table 220 with our address as `src`, virtual IPs, and optionally nftables rules
// (firewall). Expire and acquire notifications arrive on the libuv loop and go to
// DataplaneHooks::on_event. See docs/architecture.md ("Data plane: XFRM").

#include <memory>
#include <string>

#include "esp-kernel/dataplane.hpp"

namespace ikeme::esp {

// Creates the XFRM backend on `loop`: opens its netlink sockets, removes every SA, policy, route
// and nftables table a previous run left behind (reqids in [reqid_base, reqid_base + 0xffff]),
// and starts listening for expire/acquire events.
Result<std::unique_ptr<Dataplane>, std::string> make_xfrm_dataplane(uv_loop_t* loop,
                                                                    const DataplaneOptions& options,
                                                                    DataplaneHooks hooks);

// Whether this kernel can install an ESP SA: adds and deletes a dummy SA (loopback addresses,
// an SPI and reqid outside ikeme's ranges). The error explains why not, e.g. when the kernel has
// XFRM but no ESP ("Requested type not found": the esp4/esp6 module is missing).
Status<std::string> probe_kernel_esp();

}  // namespace ikeme::esp
