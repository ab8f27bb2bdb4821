// Integration: Tap create/attach, renames, moves between namespaces, carrier, destroy, frames
// both ways, and what each offload setting makes the namespace's stack hand us.
#include <linux/if_arp.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

#include "frames.hpp"
#include "io/af_packet.hpp"
#include "io/raw_ip.hpp"
#include "io/tap.hpp"
#include "ip_packets.hpp"
#include "lab.hpp"
#include "sys/netlink.hpp"

namespace subnic::test {
namespace {

using io::Tap;
using sys::Netlink;

class TapIT : public LabTest {
 protected:
  // get_link in namespace `ns_fd` (B, say) from our thread in A.
  static Result<sys::LinkInfo> link_in(int ns_fd, const std::string& name) {
    return sys::in_netns(ns_fd, [&]() -> Result<sys::LinkInfo> {
      auto n = Netlink::open();
      if (!n) {
        return tl::unexpected<Error>{n.error()};
      }
      return n->get_link(name);
    });
  }
};

TEST_F(TapIT, CreatesAPersistentTap) {
  {
    auto tap = Tap::create("sntt0");
    ASSERT_TRUE(tap) << tap.error().message;
    EXPECT_GE(tap->fd(), 0);
    auto l = nl_->get_link("sntt0");
    ASSERT_TRUE(l) << l.error().message;
    EXPECT_EQ(l->kind, "tun");
    EXPECT_EQ(l->type, ARPHRD_ETHER);
    EXPECT_FALSE(l->up());
    EXPECT_TRUE(l->address.is_valid_unicast());
    auto name = tap->name();
    ASSERT_TRUE(name);
    EXPECT_EQ(*name, "sntt0");
  }
  // The Tap object is gone; the device stays.
  EXPECT_TRUE(nl_->get_link("sntt0"));
}

TEST_F(TapIT, CreateOnAnExistingNameIsEexist) {
  for (const char* taken : {"sntv0", "lo"}) {
    auto tap = Tap::create(taken);
    ASSERT_FALSE(tap) << taken;
    EXPECT_EQ(tap.error().code, EEXIST);
    EXPECT_EQ(tap.error().message, "RTNETLINK answers: File exists");
  }
  auto first = Tap::create("sntt0");
  ASSERT_TRUE(first) << first.error().message;
  auto second = Tap::create("sntt0");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, EEXIST);
}

TEST_F(TapIT, CreateRejectsBadNames) {
  for (const char* bad : {"", "tap%d", "sntt0123456789abc"}) {
    auto tap = Tap::create(bad);
    ASSERT_FALSE(tap) << bad;
    EXPECT_EQ(tap.error().code, EINVAL) << bad;
  }
}

TEST_F(TapIT, AttachReopensAndNeverCreates) {
  {
    auto tap = Tap::create("sntt0");
    ASSERT_TRUE(tap) << tap.error().message;
    const int ifindex = nl_->get_link("sntt0")->ifindex;
    auto busy = Tap::attach("sntt0");  // single queue: one opener at a time
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, EBUSY);
    tap = Tap{std::move(*tap)};  // moving keeps the descriptor
    EXPECT_EQ(nl_->get_link("sntt0")->ifindex, ifindex);
  }
  auto again = Tap::attach("sntt0");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again->name(), "sntt0");

  auto missing = Tap::attach("sntnone");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENODEV);
  EXPECT_EQ(missing.error().message, "Cannot find device \"sntnone\"");
  EXPECT_FALSE(nl_->get_link("sntnone"));

  auto not_tap = Tap::attach("sntv0");
  ASSERT_FALSE(not_tap);
  EXPECT_EQ(not_tap.error().code, EINVAL);
}

TEST_F(TapIT, NameFollowsRenames) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  const int ifindex = nl_->get_link("sntt0")->ifindex;
  ASSERT_TRUE(nl_->set_name(ifindex, "sntt1"));
  auto name = tap->name();
  ASSERT_TRUE(name) << name.error().message;
  EXPECT_EQ(*name, "sntt1");
}

TEST_F(TapIT, NetnsFollowsAMoveToAnotherNamespace) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  auto ns = tap->netns();
  ASSERT_TRUE(ns) << ns.error().message;
  EXPECT_EQ(sys::netns_inode(ns->get()), a().inode());

  const int ifindex = nl_->get_link("sntt0")->ifindex;
  ASSERT_TRUE(nl_->set_netns(ifindex, b().fd()));
  EXPECT_FALSE(nl_->get_link("sntt0"));
  EXPECT_TRUE(link_in(b().fd(), "sntt0"));

  auto moved = tap->netns();
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(sys::netns_inode(moved->get()), b().inode());
  EXPECT_EQ(sys::netns_name_of(sys::netns_inode(moved->get())), b().name());

  // After a "restart", it is found and reattached where it now lives.
  { [[maybe_unused]] Tap closing = std::move(*tap); }  // close the descriptor
  auto again = sys::in_netns(b().fd(), [] { return Tap::attach("sntt0"); });
  ASSERT_TRUE(again) << again.error().message;
}

TEST_F(TapIT, CarrierIsVisibleAsLowerUp) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  const int ifindex = nl_->get_link("sntt0")->ifindex;
  // IFF_LOWER_UP is only reported while the device is up (dev_get_flags).
  EXPECT_FALSE(nl_->get_link(ifindex)->lower_up());
  ASSERT_TRUE(nl_->set_up(ifindex, true));
  EXPECT_TRUE(nl_->get_link(ifindex)->lower_up());  // a queue is attached: carrier on

  ASSERT_TRUE(tap->set_carrier(false));
  EXPECT_FALSE(nl_->get_link(ifindex)->lower_up());
  EXPECT_TRUE(nl_->get_link(ifindex)->up());
  ASSERT_TRUE(tap->set_carrier(true));
  EXPECT_TRUE(nl_->get_link(ifindex)->lower_up());

  { [[maybe_unused]] Tap closing = std::move(*tap); }  // close our queue: carrier goes off
  EXPECT_FALSE(nl_->get_link(ifindex)->lower_up());
  auto again = Tap::attach("sntt0");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(nl_->get_link(ifindex)->lower_up());
}

TEST_F(TapIT, DestroyRemovesItEvenFromAnotherNamespace) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  const int ifindex = nl_->get_link("sntt0")->ifindex;
  ASSERT_TRUE(nl_->set_netns(ifindex, b().fd()));
  ASSERT_TRUE(link_in(b().fd(), "sntt0"));

  ASSERT_TRUE(tap->destroy());
  EXPECT_EQ(tap->fd(), -1);
  auto gone = link_in(b().fd(), "sntt0");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ENODEV);
  EXPECT_FALSE(nl_->get_link("sntt0"));

  auto twice = tap->destroy();
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, EBADF);
}

TEST_F(TapIT, DestroyOfAnAttachedTapRemovesIt) {
  ASSERT_TRUE(Tap::create("sntt0"));
  auto tap = Tap::attach("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  ASSERT_TRUE(tap->destroy());
  EXPECT_FALSE(nl_->get_link("sntt0"));
}

TEST_F(TapIT, ReadWithNothingPendingIsZero) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  auto n = tap->read(buf);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 0U);
}

// The namespace side of the TAP is observed through a packet socket on it.
TEST_F(TapIT, FramesCrossInBothDirections) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  const auto link = nl_->get_link("sntt0");
  ASSERT_TRUE(link);
  ASSERT_TRUE(nl_->set_up(link->ifindex, true));
  auto ns_side = io::PacketSocket::open(link->ifindex);
  ASSERT_TRUE(ns_side) << ns_side.error().message;

  // subnic writes -> the namespace receives (to the TAP's own MAC: PACKET_HOST).
  const auto in = test_frame(link->address, kSomeUnicast, "to-namespace");
  ASSERT_TRUE(tap->write(in));
  const auto in_split = test_frame(kBroadcast, kSomeUnicast, "to-namespace-v");
  ASSERT_TRUE(tap->writev(std::span{in_split}.first(io::kVnetHdrLen),
                          std::span{in_split}.subspan(io::kVnetHdrLen)));
  std::vector<std::uint8_t> rx(io::kMaxFrame);
  std::vector<std::pair<std::string, std::uint8_t>> got;
  wait_until([&] {
    io::RxSlot slot{rx.data(), rx.size()};
    auto n = ns_side->recv_batch(std::span{&slot, 1});
    if (n && *n == 1) {
      const auto m = marker_of(slot.buf, slot.len);
      if (!m.empty()) {
        EXPECT_EQ(slot.len, in.size());
        got.emplace_back(m, slot.pkttype);
      }
    }
    return got.size() >= 2;
  });
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0], (std::pair<std::string, std::uint8_t>{"to-namespace", PACKET_HOST}));
  EXPECT_EQ(got[1], (std::pair<std::string, std::uint8_t>{"to-namespace-v", PACKET_BROADCAST}));

  // The namespace transmits -> subnic reads it, vnet header first.
  const auto out = test_frame(kBroadcast, link->address, "from-namespace");
  const std::array<std::span<const std::uint8_t>, 1> frames{std::span{out}};
  auto sent = ns_side->send_batch(frames);
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_EQ(*sent, 1U);
  std::string seen;
  std::size_t seen_len = 0;
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  wait_until([&] {
    auto n = tap->read(buf);
    EXPECT_TRUE(n);
    if (n && *n > 0 && marker_of(buf.data(), *n) == "from-namespace") {
      seen = "from-namespace";
      seen_len = *n;
    }
    return !seen.empty();
  });
  EXPECT_EQ(seen, "from-namespace");
  EXPECT_EQ(seen_len, out.size());
  EXPECT_EQ(std::vector<std::uint8_t>(buf.begin(), buf.begin() + io::kVnetHdrLen),
            std::vector<std::uint8_t>(io::kVnetHdrLen, 0));  // no GSO, no checksum work
}

TEST_F(TapIT, WriteRejectsAFrameWithoutRoomForTheHeader) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  ASSERT_TRUE(nl_->set_up(nl_->get_link("sntt0")->ifindex, true));
  const std::array<std::uint8_t, 4> runt{};
  auto r = tap->write(runt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
}

}  // namespace
}  // namespace subnic::test

namespace subnic::test {
namespace {

TEST_F(TapIT, WriteWhileDownIsEio) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  auto r = tap->write(test_frame(kBroadcast, kSomeUnicast, "down"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EIO);
}

TEST_F(TapIT, DescriptorOfADeletedTapFailsWithEbadfd) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  ASSERT_TRUE(nl_->del_link(nl_->get_link("sntt0")->ifindex));  // `ip link del` behind our back
  EXPECT_FALSE(nl_->get_link("sntt0"));
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  auto r = tap->read(buf);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EBADFD);
  auto name = tap->name();
  ASSERT_FALSE(name);
  EXPECT_EQ(name.error().code, EBADFD);
}

// --- Offloads (TUNSETOFFLOAD) ---

constexpr std::size_t kEth = core::kEthHeaderLen;
constexpr std::size_t kIp4At = io::kVnetHdrLen + kEth;  // IPv4 header offset in a read buffer

// A TAP "sntt0", up, with 10.97.0.1/24 and a permanent neighbour 10.97.0.2 at kSomeUnicast:
// the namespace's IPv4 to .2 leaves through the TAP without ARP.
void addressed_tap(std::optional<Tap>& tap, sys::LinkInfo& link, sys::Netlink& nl, Netns& ns) {
  auto t = Tap::create("sntt0");
  ASSERT_TRUE(t) << t.error().message;
  tap.emplace(std::move(*t));
  auto l = nl.get_link("sntt0");
  ASSERT_TRUE(l) << l.error().message;
  link = *l;
  ASSERT_TRUE(nl.set_up(link.ifindex, true));
  for (const std::string& cmd : std::vector<std::string>{
           "addr add 10.97.0.1/24 dev sntt0",
           "neigh add 10.97.0.2 lladdr " + kSomeUnicast.to_string() + " dev sntt0 nud permanent"}) {
    auto r = ns.ip(cmd);
    ASSERT_EQ(r.status, 0) << cmd << ": " << r.output;
  }
}

// One frame read from the TAP: vnet header + Ethernet frame.
struct TapFrame {
  io::VnetHdr vnet;
  std::vector<std::uint8_t> bytes;  // vnet header included

  bool ipv4_to_port(std::uint8_t proto, std::uint16_t port) const {
    if (bytes.size() < kIp4At + 20 + 8 || get16(bytes.data() + io::kVnetHdrLen + 12) != 0x0800) {
      return false;
    }
    const std::uint8_t* ip = bytes.data() + kIp4At;
    return ip[9] == proto && get16(l4() + 2) == port;
  }
  const std::uint8_t* l4() const { return bytes.data() + kIp4At + (bytes[kIp4At] & 0x0f) * 4; }
  // The IPv4 packet alone (no vnet or Ethernet header).
  std::vector<std::uint8_t> packet() const {
    return std::vector<std::uint8_t>(bytes.begin() + kIp4At, bytes.end());
  }
};

// Reads frames from `tap` for up to `timeout`, returns those `keep` accepts (stops early once
// `enough` of them were seen).
std::vector<TapFrame> read_frames(Tap& tap, const std::function<bool(const TapFrame&)>& keep,
                                  std::size_t enough,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds{
                                      2000}) {
  std::vector<TapFrame> out;
  std::vector<std::uint8_t> buf(io::kMaxFrame);
  wait_until(
      [&] {
        for (;;) {
          auto n = tap.read(buf);
          EXPECT_TRUE(n) << n.error().message;
          if (!n || *n == 0) {
            break;
          }
          TapFrame f;
          std::memcpy(&f.vnet, buf.data(), io::kVnetHdrLen);
          f.bytes.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
          if (keep(f)) {
            out.push_back(std::move(f));
          }
        }
        return out.size() >= enough;
      },
      timeout);
  return out;
}

void send_udp(std::uint16_t port, const std::string& data) {
  sys::UniqueFd udp{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  ASSERT_TRUE(udp);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  std::memcpy(&to.sin_addr, addr_bytes("10.97.0.2").data(), 4);
  ASSERT_EQ(
      ::sendto(udp.get(), data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
      static_cast<ssize_t>(data.size()))
      << std::strerror(errno);
}

TEST_F(TapIT, SetOffloadRefusesWhatTunCannotHonour) {
  auto tap = Tap::create("sntt0");
  ASSERT_TRUE(tap) << tap.error().message;
  for (unsigned bad : {Tap::kOffloadTso4, Tap::kOffloadTso6 | Tap::kOffloadTsoEcn, 0x80000000U}) {
    auto r = tap->set_offload(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, EINVAL) << bad;
  }
  for (unsigned good : {0U, Tap::kOffloadsCsumOnly, Tap::kOffloadsFull}) {
    EXPECT_TRUE(tap->set_offload(good)) << good;
  }
}

TEST_F(TapIT, CsumOnlyLeavesChecksumsPartialAndNoneCompletesThem) {
  std::optional<Tap> tap;
  sys::LinkInfo link;
  ASSERT_NO_FATAL_FAILURE(addressed_tap(tap, link, *nl_, a()));

  ASSERT_TRUE(tap->set_offload(Tap::kOffloadsCsumOnly));
  ASSERT_NO_FATAL_FAILURE(send_udp(5555, "partial, odd length"));
  auto got = read_frames(
      *tap, [](const TapFrame& f) { return f.ipv4_to_port(kProtoUdp, 5555); }, 1);
  ASSERT_EQ(got.size(), 1U);
  TapFrame& f = got[0];
  EXPECT_EQ(f.vnet.flags, io::kVnetFNeedsCsum);
  EXPECT_EQ(f.vnet.gso_type, io::kVnetGsoNone);
  EXPECT_EQ(f.vnet.csum_start, kEth + 20);  // from the Ethernet header: the UDP header
  EXPECT_EQ(f.vnet.csum_offset, 6);         // udphdr.check
  // What a NIC would do: complete it in place, offsets relative to the Ethernet frame.
  io::complete_checksum(std::span{f.bytes}.subspan(io::kVnetHdrLen), f.vnet.csum_start,
                        f.vnet.csum_offset);
  EXPECT_TRUE(l4_checksum_ok(f.packet(), 20, kProtoUdp));

  ASSERT_TRUE(tap->set_offload(0));
  ASSERT_NO_FATAL_FAILURE(send_udp(5556, "complete"));
  got = read_frames(
      *tap, [](const TapFrame& g) { return g.ipv4_to_port(kProtoUdp, 5556); }, 1);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].vnet.flags, 0);  // the stack did the checksum itself
  EXPECT_EQ(got[0].vnet.gso_type, io::kVnetGsoNone);
  EXPECT_TRUE(l4_checksum_ok(got[0].packet(), 20, kProtoUdp));
}

// Plays the TCP peer 10.97.0.2:port on the TAP far enough for the namespace to send data:
// connects, answers the SYN with a SYN-ACK (MSS 1460, window 65535), sends `len` bytes, and
// returns the data frames the TAP hands us within 500 ms (no data is ever acknowledged, so
// the initial congestion window's worth).
// With `partial_synack` the SYN-ACK goes in as a NIC-less sender would leave it: checksum
// partial, vnet header NEEDS_CSUM (the namespace's stack completes or trusts it).
std::vector<TapFrame> tcp_data_frames(Tap& tap, const sys::LinkInfo& link, std::uint16_t port,
                                      std::size_t len, bool partial_synack = false) {
  sys::UniqueFd tcp{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  EXPECT_TRUE(tcp);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  std::memcpy(&to.sin_addr, addr_bytes("10.97.0.2").data(), 4);
  EXPECT_NE(::connect(tcp.get(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  EXPECT_EQ(errno, EINPROGRESS);

  auto syn = read_frames(
      tap,
      [port](const TapFrame& f) {
        return f.ipv4_to_port(kProtoTcp, port) && (f.l4()[13] & 0x02) != 0;
      },
      1);
  if (syn.empty()) {
    ADD_FAILURE() << "no SYN on the TAP";
    return {};
  }
  const std::uint16_t client_port = get16(syn[0].l4());
  const std::uint32_t isn = get32(syn[0].l4() + 4);

  std::vector<std::uint8_t> tcph(24, 0);
  put16(tcph.data(), port);
  put16(tcph.data() + 2, client_port);
  put32(tcph.data() + 4, 5000);
  put32(tcph.data() + 8, isn + 1);
  tcph[12] = 6 << 4;  // 24 bytes of header
  tcph[13] = 0x12;    // SYN ACK
  put16(tcph.data() + 14, 65535);
  tcph[20] = 2;  // MSS option
  tcph[21] = 4;
  put16(tcph.data() + 22, 1460);
  auto pkt = ipv4_packet("10.97.0.2", "10.97.0.1", kProtoTcp, 64, tcph);
  // The checksum, as a partial one completed by complete_checksum: the kernel verifies it.
  put16(pkt.data() + 20 + 16, fold16(pseudo_sum(pkt, 20, kProtoTcp)));
  std::vector<std::uint8_t> frame(io::kVnetHdrLen, 0);
  if (partial_synack) {
    io::VnetHdr h;
    h.flags = io::kVnetFNeedsCsum;
    h.csum_start = kEth + 20;
    h.csum_offset = 16;
    std::memcpy(frame.data(), &h, sizeof h);
  } else {
    io::complete_checksum(pkt, 20, 16);
  }
  frame.insert(frame.end(), link.address.bytes.begin(), link.address.bytes.end());
  frame.insert(frame.end(), kSomeUnicast.bytes.begin(), kSomeUnicast.bytes.end());
  frame.push_back(0x08);
  frame.push_back(0x00);
  frame.insert(frame.end(), pkt.begin(), pkt.end());
  auto w = tap.write(frame);
  EXPECT_TRUE(w) << w.error().message;

  pollfd p{tcp.get(), POLLOUT, 0};
  EXPECT_EQ(::poll(&p, 1, 2000), 1) << "connect did not complete";
  int err = -1;
  socklen_t err_len = sizeof err;
  ::getsockopt(tcp.get(), SOL_SOCKET, SO_ERROR, &err, &err_len);
  EXPECT_EQ(err, 0) << std::strerror(err);

  const std::vector<std::uint8_t> data(len, 0x61);
  EXPECT_GT(::send(tcp.get(), data.data(), data.size(), 0), 0) << std::strerror(errno);
  return read_frames(
      tap,
      [port](const TapFrame& f) {
        if (!f.ipv4_to_port(kProtoTcp, port)) {
          return false;
        }
        const std::size_t hdrs = kIp4At + (f.bytes[kIp4At] & 0x0f) * 4 + (f.l4()[12] >> 4) * 4;
        return f.bytes.size() > hdrs;  // carries data
      },
      64, std::chrono::milliseconds{500});
}

TEST_F(TapIT, FullOffloadsHandUsTsoSuperFramesCsumOnlyNever) {
  std::optional<Tap> tap;
  sys::LinkInfo link;
  ASSERT_NO_FATAL_FAILURE(addressed_tap(tap, link, *nl_, a()));
  constexpr std::size_t kMaxPlain = io::kVnetHdrLen + kEth + 1500;  // one MTU-sized frame

  // Created with kOffloadsFull: TCP builds super-frames (gso_size = MSS) beyond the MTU.
  const auto full = tcp_data_frames(*tap, link, 7001, 60000);
  ASSERT_FALSE(full.empty());
  bool super = false;
  for (const auto& f : full) {
    EXPECT_EQ(f.vnet.flags, io::kVnetFNeedsCsum);
    if (f.vnet.gso_type == io::kVnetGsoTcpv4) {
      super = true;
      EXPECT_GT(f.bytes.size(), kMaxPlain);
      EXPECT_EQ(f.vnet.gso_size, 1460);  // the MSS: no TCP timestamps (our SYN-ACK had none)
    }
  }
  EXPECT_TRUE(super) << full.size() << " data frames, none a TSO super-frame";

  // CSUM only: the stack segments before tun (software GSO); checksums stay partial.
  ASSERT_TRUE(tap->set_offload(Tap::kOffloadsCsumOnly));
  const auto csum = tcp_data_frames(*tap, link, 7002, 60000);
  ASSERT_GE(csum.size(), 2U);
  for (const auto& f : csum) {
    EXPECT_EQ(f.vnet.gso_type, io::kVnetGsoNone);
    EXPECT_LE(f.bytes.size(), kMaxPlain);
    EXPECT_EQ(f.vnet.flags, io::kVnetFNeedsCsum);
    auto copy = f.bytes;
    io::complete_checksum(std::span{copy}.subspan(io::kVnetHdrLen), f.vnet.csum_start,
                          f.vnet.csum_offset);
    EXPECT_TRUE(l4_checksum_ok(std::vector<std::uint8_t>(copy.begin() + kIp4At, copy.end()), 20,
                               kProtoTcp));
  }
}

TEST_F(TapIT, WrittenFramesMayLeaveChecksumsPartialWhateverTheOffloads) {
  // TUNSETOFFLOAD only shapes what the namespace transmits; tun_get_user takes NEEDS_CSUM
  // (CHECKSUM_PARTIAL) from us even with every offload off.
  std::optional<Tap> tap;
  sys::LinkInfo link;
  ASSERT_NO_FATAL_FAILURE(addressed_tap(tap, link, *nl_, a()));
  ASSERT_TRUE(tap->set_offload(0));
  const auto data = tcp_data_frames(*tap, link, 7003, 3000, /*partial_synack=*/true);
  ASSERT_FALSE(data.empty()) << "the handshake did not complete";
  for (const auto& f : data) {
    EXPECT_EQ(f.vnet.flags, 0);  // and what it sends back is complete
    EXPECT_TRUE(l4_checksum_ok(f.packet(), 20, kProtoTcp));
  }
}

}  // namespace
}  // namespace subnic::test
