// The floor under ipvsd's batch: the same IPVS requests, packed the same
// way, from C. What ipvsd takes beyond this is JavaScript's.
//   floor create N D   N services x D destinations, as bench/rules.ts names them
//   floor update N D   every destination of that state set to weight 2
// Prints one JSON line, {"createMs" or "updateMs": ..., "failed": requests refused}.
// The timed region builds the messages too, as ipvsd's does.
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define SEND_BYTES (64 * 1024)
// One message more than a buffer holds is built past its end, then moved to the next.
static char sendbuf[SEND_BYTES + 1024];
static char recvbuf[64 * 1024];
static char reply[4096];  // the last reply that was not an ack (the family lookup's)
static size_t reply_len;
static size_t end;     // bytes of sendbuf filled
static size_t last;    // offset of the last message in sendbuf
static uint32_t seq;
static int fd, family, failed;

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static size_t put(size_t at, int type, const void *data, size_t len) {
  struct nlattr *a = (struct nlattr *)(sendbuf + at);
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  if (len) memcpy(sendbuf + at + NLA_HDRLEN, data, len);
  memset(sendbuf + at + a->nla_len, 0, NLA_ALIGN(a->nla_len) - a->nla_len);
  return at + NLA_ALIGN(a->nla_len);
}
static size_t put_u8(size_t at, int type, uint8_t v) { return put(at, type, &v, 1); }
static size_t put_u16(size_t at, int type, uint16_t v) { return put(at, type, &v, 2); }
static size_t put_u32(size_t at, int type, uint32_t v) { return put(at, type, &v, 4); }
static size_t put_str(size_t at, int type, const char *s) { return put(at, type, s, strlen(s) + 1); }
/** A nested attribute's header at `at` (its children follow it); close_nest sets its length. */
static size_t open_nest(size_t at, int type) { put(at, type, NULL, 0); return at; }
static void close_nest(size_t at, size_t to) { ((struct nlattr *)(sendbuf + at))->nla_len = to - at; }

/** Starts a message at `end`: netlink and generic netlink headers; returns where attributes go. */
static size_t begin(int type, int cmd) {
  struct nlmsghdr *h = (struct nlmsghdr *)(sendbuf + end);
  *h = (struct nlmsghdr){ .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = ++seq };
  struct genlmsghdr *g = NLMSG_DATA(h);
  *g = (struct genlmsghdr){ .cmd = cmd, .version = IPVS_GENL_VERSION };
  return end + NLMSG_HDRLEN + GENL_HDRLEN;
}

/** Reads until the ack of the message with sequence `final`, counting errors; keeps any other reply. */
static void receive(uint32_t final) {
  for (;;) {
    ssize_t n = recv(fd, recvbuf, sizeof recvbuf, 0);
    if (n < 0) die("recv");
    for (struct nlmsghdr *h = (struct nlmsghdr *)recvbuf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR) {
        reply_len = NLMSG_PAYLOAD(h, 0) < sizeof reply ? NLMSG_PAYLOAD(h, 0) : sizeof reply;
        memcpy(reply, NLMSG_DATA(h), reply_len);
        continue;
      }
      if (((struct nlmsgerr *)NLMSG_DATA(h))->error) failed++;
      if (h->nlmsg_seq == final) return;
    }
  }
}

/** Sends the messages before `upto`, asking an ack of the last only, and reads the answers. */
static void flush(size_t upto) {
  struct nlmsghdr *h = (struct nlmsghdr *)(sendbuf + last);
  h->nlmsg_flags |= NLM_F_ACK;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  if (sendto(fd, sendbuf, upto, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) die("sendmsg");
  receive(h->nlmsg_seq);
}

/** Ends the message begun at `end` whose attributes end at `to`; a full buffer is sent first. */
static void finish(size_t to) {
  struct nlmsghdr *h = (struct nlmsghdr *)(sendbuf + end);
  h->nlmsg_len = to - end;
  if (to > SEND_BYTES) {
    flush(end);
    memmove(sendbuf, h, to - end);
    to -= end;
    end = 0;
  }
  last = end;
  end = to;
}

static size_t service_id(size_t at, uint32_t vip) {
  at = put_u16(at, IPVS_SVC_ATTR_AF, AF_INET);
  at = put_u16(at, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
  at = put(at, IPVS_SVC_ATTR_ADDR, &vip, 4);
  return put_u16(at, IPVS_SVC_ATTR_PORT, htons(80));
}

static void service(uint32_t vip) {
  size_t nest = open_nest(begin(family, IPVS_CMD_NEW_SERVICE), IPVS_CMD_ATTR_SERVICE);
  size_t at = service_id(nest + NLA_HDRLEN, vip);
  at = put_str(at, IPVS_SVC_ATTR_SCHED_NAME, "wlc");
  struct ip_vs_flags flags = { .flags = 0, .mask = 0xffffffff };
  at = put(at, IPVS_SVC_ATTR_FLAGS, &flags, sizeof flags);
  at = put_u32(at, IPVS_SVC_ATTR_TIMEOUT, 0);
  at = put_u32(at, IPVS_SVC_ATTR_NETMASK, htonl(0xffffffff));
  close_nest(nest, at);
  finish(at);
}

static void destination(int cmd, uint32_t vip, uint32_t rip, uint32_t weight) {
  size_t nest = open_nest(begin(family, cmd), IPVS_CMD_ATTR_SERVICE);
  size_t at = service_id(nest + NLA_HDRLEN, vip);
  close_nest(nest, at);
  nest = open_nest(at, IPVS_CMD_ATTR_DEST);
  at = put_u16(nest + NLA_HDRLEN, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
  at = put(at, IPVS_DEST_ATTR_ADDR, &rip, 4);
  at = put_u16(at, IPVS_DEST_ATTR_PORT, htons(8080));
  at = put_u32(at, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
  at = put_u32(at, IPVS_DEST_ATTR_WEIGHT, weight);
  at = put_u32(at, IPVS_DEST_ATTR_U_THRESH, 0);
  at = put_u32(at, IPVS_DEST_ATTR_L_THRESH, 0);
  at = put_u8(at, IPVS_DEST_ATTR_TUN_TYPE, 0);
  at = put_u16(at, IPVS_DEST_ATTR_TUN_PORT, htons(0));
  at = put_u16(at, IPVS_DEST_ATTR_TUN_FLAGS, 0);
  close_nest(nest, at);
  finish(at);
}

/** The id of generic netlink family `name`, from nlctrl; -1 if the kernel has none. */
static int resolve(const char *name) {
  finish(put_str(begin(GENL_ID_CTRL, CTRL_CMD_GETFAMILY), CTRL_ATTR_FAMILY_NAME, name));
  flush(end);
  end = 0;
  for (size_t at = GENL_HDRLEN; !failed && at + NLA_HDRLEN <= reply_len;) {
    struct nlattr *a = (struct nlattr *)(reply + at);
    if (a->nla_len < NLA_HDRLEN) break;
    if (a->nla_type == CTRL_ATTR_FAMILY_ID) return *(uint16_t *)(reply + at + NLA_HDRLEN);
    at += NLA_ALIGN(a->nla_len);
  }
  return -1;
}

static void setint(int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) die("setsockopt");
}

/** bench/rules.ts: vip(i) = 198.18.(i>>8).(i&255), rip(j) = 203.0.113.(j+1), in network order. */
static uint32_t vip(int i) { return htonl(198u << 24 | 18u << 16 | (uint32_t)i); }
static uint32_t rip(int j) { return htonl(203u << 24 | 113u << 8 | (uint32_t)(j + 1)); }

int main(int argc, char **argv) {
  const char *mode = argc == 4 ? argv[1] : "";
  int update = !strcmp(mode, "update");
  int n = argc == 4 ? atoi(argv[2]) : 0, d = argc == 4 ? atoi(argv[3]) : 0;
  // Beyond these, rules.ts's addresses would leave 198.18.0.0/16 and 203.0.113.0/24.
  if ((!update && strcmp(mode, "create")) || n < 1 || n > 65536 || d < 0 || d > 254) {
    fprintf(stderr, "usage: floor create|update SERVICES(1..65536) DESTS(0..254)\n");
    return 2;
  }
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) die("socket");
  // As ipvsd's socket (src/netlink/socket.ts): capped acks, the same buffers.
  setint(SOL_NETLINK, NETLINK_EXT_ACK, 1);
  setint(SOL_NETLINK, NETLINK_CAP_ACK, 1);
  setint(SOL_SOCKET, SO_SNDBUFFORCE, 256 * 1024);
  setint(SOL_SOCKET, SO_RCVBUFFORCE, 4 * 1024 * 1024);
  family = resolve(IPVS_GENL_NAME);
  if (family < 0) {
    fprintf(stderr, "floor: no IPVS generic netlink family (modprobe ip_vs)\n");
    return 1;
  }

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) {
    if (!update) service(vip(i));
    for (int j = 0; j < d; j++) destination(update ? IPVS_CMD_SET_DEST : IPVS_CMD_NEW_DEST, vip(i), rip(j), update ? 2 : 1);
  }
  if (end) flush(end);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
  printf("{\"%s\": %.3f, \"failed\": %d}\n", update ? "updateMs" : "createMs", ms, failed);
  return 0;
}
