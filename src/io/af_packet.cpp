// PacketSocket: AF_PACKET setup, memberships, and recvmmsg/sendmmsg bursts with vnet headers and
// VLAN auxdata.
#include "io/af_packet.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23  // <linux/if_packet.h> since 4.20
#endif

namespace subnic::io {

struct PacketSocket::Scratch {
  static constexpr std::size_t kCtrlLen = CMSG_SPACE(sizeof(tpacket_auxdata));
  std::array<mmsghdr, kMaxBurst> msgs{};
  std::array<iovec, kMaxBurst> iovs{};
  std::array<sockaddr_ll, kMaxBurst> addrs{};
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kCtrlLen>, kMaxBurst> ctrl{};
};

void PacketSocket::ScratchDeleter::operator()(Scratch* s) const {
  delete s;
}

namespace {

constexpr int kMaxRecvRounds = 4;  // recvmmsg calls per recv_batch when frames had to be skipped

Status set_int_opt(int fd, int level, int opt, int value, const char* what) {
  if (::setsockopt(fd, level, opt, &value, sizeof value) < 0) {
    return sys::sys_error(what);
  }
  return {};
}

}  // namespace

PacketSocket::PacketSocket(sys::UniqueFd fd, int ifindex,
                           std::unique_ptr<Scratch, ScratchDeleter> scratch)
    : fd_{std::move(fd)}, ifindex_{ifindex}, scratch_{std::move(scratch)} {}

Result<PacketSocket> PacketSocket::open(int ifindex) {
  if (ifindex <= 0) {
    return fail(EINVAL, "packet socket: invalid ifindex " + std::to_string(ifindex));
  }
  sys::UniqueFd fd{::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!fd) {
    return sys::sys_error("socket(AF_PACKET)");
  }
  if (auto r = set_int_opt(fd.get(), SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR"); !r) {
    return tl::unexpected<Error>{r.error()};
  }
  if (auto r = set_int_opt(fd.get(), SOL_PACKET, PACKET_AUXDATA, 1, "PACKET_AUXDATA"); !r) {
    return tl::unexpected<Error>{r.error()};
  }
  // Older kernels lack it (ENOPROTOOPT); recv_batch filters sll_pkttype anyway.
  if (auto r =
          set_int_opt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");
      !r && r.error().code != ENOPROTOOPT) {
    return tl::unexpected<Error>{r.error()};
  }
  // SO_RCVBUFFORCE ignores rmem_max but needs CAP_NET_ADMIN.
  if (!set_int_opt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, kRcvBufBytes, "SO_RCVBUFFORCE")) {
    (void)set_int_opt(fd.get(), SOL_SOCKET, SO_RCVBUF, kRcvBufBytes, "SO_RCVBUF");
  }
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sll), sizeof sll) < 0) {
    return sys::sys_error("bind(AF_PACKET) ifindex " + std::to_string(ifindex));
  }
  std::unique_ptr<Scratch, ScratchDeleter> scratch{new Scratch{}};
  return PacketSocket{std::move(fd), ifindex, std::move(scratch)};
}

Result<PacketKernelStats> PacketSocket::kernel_stats() {
  tpacket_stats st{};
  socklen_t len = sizeof st;
  if (::getsockopt(fd_.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
    return sys::sys_error("PACKET_STATISTICS");
  }
  return PacketKernelStats{st.tp_packets, st.tp_drops};
}

Status PacketSocket::membership(int op, Membership kind, core::Mac mac) {
  packet_mreq mr{};
  mr.mr_ifindex = ifindex_;
  switch (kind) {
    case Membership::kUnicast:
      if (mac.is_group()) {
        return fail(EINVAL, "unicast membership needs a unicast MAC, not " + mac.to_string());
      }
      mr.mr_type = PACKET_MR_UNICAST;
      break;
    case Membership::kMulticast:
      if (!mac.is_group()) {
        return fail(EINVAL, "multicast membership needs a group MAC, not " + mac.to_string());
      }
      mr.mr_type = PACKET_MR_MULTICAST;
      break;
    case Membership::kPromisc:
      mr.mr_type = PACKET_MR_PROMISC;
      break;
    case Membership::kAllmulti:
      mr.mr_type = PACKET_MR_ALLMULTI;
      break;
  }
  if (kind == Membership::kUnicast || kind == Membership::kMulticast) {
    mr.mr_alen = static_cast<unsigned short>(mac.bytes.size());
    std::memcpy(mr.mr_address, mac.bytes.data(), mac.bytes.size());
  }
  if (::setsockopt(fd_.get(), SOL_PACKET, op, &mr, sizeof mr) < 0) {
    return sys::sys_error(op == PACKET_ADD_MEMBERSHIP ? "PACKET_ADD_MEMBERSHIP"
                                                      : "PACKET_DROP_MEMBERSHIP");
  }
  return {};
}

Status PacketSocket::add_membership(Membership kind, core::Mac mac) {
  return membership(PACKET_ADD_MEMBERSHIP, kind, mac);
}

Status PacketSocket::drop_membership(Membership kind, core::Mac mac) {
  return membership(PACKET_DROP_MEMBERSHIP, kind, mac);
}

Result<std::size_t> PacketSocket::recv_batch(std::span<RxSlot> slots) {
  const std::size_t n = std::min(slots.size(), kMaxBurst);
  for (std::size_t i = 0; i < n; ++i) {
    if (slots[i].buf == nullptr || slots[i].cap < kVnetHdrLen) {
      return fail(EINVAL, "recv_batch: a slot must hold at least the vnet header");
    }
  }
  Scratch& s = *scratch_;
  std::size_t kept = 0;
  for (int round = 0; round < kMaxRecvRounds && kept < n; ++round) {
    const std::size_t want = n - kept;
    for (std::size_t j = 0; j < want; ++j) {
      RxSlot& slot = slots[kept + j];
      s.iovs[j] = iovec{slot.buf, slot.cap};
      msghdr& h = s.msgs[j].msg_hdr;
      h.msg_name = &s.addrs[j];
      h.msg_namelen = sizeof(sockaddr_ll);
      h.msg_iov = &s.iovs[j];
      h.msg_iovlen = 1;
      h.msg_control = s.ctrl[j].data();
      h.msg_controllen = s.ctrl[j].size();
      h.msg_flags = 0;
      s.msgs[j].msg_len = 0;
    }
    const int r =
        ::recvmmsg(fd_.get(), s.msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        break;
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno == EINVAL) {
        // packet_rcv_vnet could not describe the frame's GSO kind in a
        // virtio_net_hdr; the kernel has already dropped that frame.
        ++counters_.rx_bad_vnet;
        continue;
      }
      if (kept > 0) {
        break;  // report what we have; the error comes back on the next call
      }
      return sys::sys_error("recvmmsg");
    }
    const auto got = static_cast<std::size_t>(r);
    std::size_t w = kept;  // next index for a frame we keep
    for (std::size_t j = 0; j < got; ++j) {
      const msghdr& h = s.msgs[j].msg_hdr;
      RxSlot& slot = slots[kept + j];
      const std::uint8_t pkttype = s.addrs[j].sll_pkttype;
      if ((h.msg_flags & MSG_TRUNC) != 0) {
        ++counters_.rx_truncated;
        continue;
      }
      if (pkttype == PACKET_OUTGOING) {
        ++counters_.rx_outgoing;
        continue;
      }
      slot.len = s.msgs[j].msg_len;
      slot.pkttype = pkttype;
      slot.has_vlan = false;
      slot.vlan_tci = 0;
      slot.vlan_tpid = 0;
      for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
           c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
            c->cmsg_len < CMSG_LEN(sizeof(tpacket_auxdata))) {
          continue;
        }
        tpacket_auxdata aux{};
        std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
        if ((aux.tp_status & TP_STATUS_VLAN_VALID) != 0 || aux.tp_vlan_tci != 0) {
          slot.has_vlan = true;
          slot.vlan_tci = aux.tp_vlan_tci;
          slot.vlan_tpid =
              (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux.tp_vlan_tpid : ETH_P_8021Q;
        }
      }
      if (w != kept + j) {
        std::swap(slots[w], slot);  // slots[w] was skipped: move this frame forward
      }
      ++w;
    }
    kept = w;
    if (got < want) {
      break;  // the socket is drained
    }
  }
  return kept;
}

Result<std::size_t> PacketSocket::send_batch(
    std::span<const std::span<const std::uint8_t>> frames) {
  Scratch& s = *scratch_;
  std::size_t done = 0;
  // Each pass consumes at least one frame or returns; EINTR retries are bounded too.
  const std::size_t max_calls = 2 * frames.size() + 8;
  for (std::size_t call = 0; call < max_calls && done < frames.size(); ++call) {
    const std::size_t chunk = std::min(frames.size() - done, kMaxBurst);
    for (std::size_t j = 0; j < chunk; ++j) {
      const auto f = frames[done + j];
      s.iovs[j] = iovec{const_cast<std::uint8_t*>(f.data()), f.size()};
      s.msgs[j].msg_hdr = msghdr{};
      s.msgs[j].msg_hdr.msg_iov = &s.iovs[j];
      s.msgs[j].msg_hdr.msg_iovlen = 1;
      s.msgs[j].msg_len = 0;
    }
    const int r = ::sendmmsg(fd_.get(), s.msgs.data(), static_cast<unsigned>(chunk), MSG_DONTWAIT);
    if (r > 0) {
      done += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) {
      break;
    }
    switch (errno) {
      case EINTR:
        continue;
      case EAGAIN:
        return done;
      case ENOBUFS:  // NET_XMIT_DROP: the qdisc or driver dropped this frame
        ++counters_.tx_dropped;
        ++done;
        continue;
      case EINVAL:
      case EMSGSIZE:  // bad vnet header, runt, or over the MTU without GSO
        ++counters_.tx_malformed;
        ++done;
        continue;
      default:
        if (done == 0) {
          return sys::sys_error("sendmmsg");
        }
        return done;
    }
  }
  return done;
}

}  // namespace subnic::io
