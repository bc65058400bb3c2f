/* dns_floor: a DNS responder that does no lookup, the cost floor for bench/compare.sh.
 *
 * Every well-formed query on 127.0.0.1:PORT gets the same shape of reply: the header with QR, AA
 * and NOERROR, the question echoed, and one A record (a pointer to the question name, TTL 0,
 * 127.0.0.1). Nothing else: no EDNS, no authority, no additional section. dnsperf counts every
 * reply as answered, so "server CPU per answered query" for this program is what receiving,
 * checking and sending one query costs on this machine with the same batching a fast server
 * uses (recvmmsg / sendmmsg). A real server's figure above it is its lookup and encoding.
 *
 *   cc -O2 -o dns_floor bench/dns_floor.c
 *   ./dns_floor PORT [BATCH [GSO]]
 *     BATCH: datagrams per recvmmsg/sendmmsg call (1..256, default 64)
 *     GSO:   1 sends the replies of one batch that go to the same address with the same length as
 *            one UDP GSO message (UDP_SEGMENT), as Beacon's worker does; 0 (default, what
 *            compare.sh runs) sends one message per reply
 *
 * Binds 127.0.0.1 only; runs in one thread until SIGTERM or SIGINT, then prints the number of
 * replies to stderr. Queries it cannot echo (short, a response, QDCOUNT != 1, a name running off
 * the packet) are dropped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/udp.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

enum { MAX_BATCH = 256, SLOT = 2048, ROOM = 16 /* bytes of the A record appended */ };

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }

/* Turns the query in buf[0..len) into the reply in place. Returns the reply length, or 0 to drop. */
static size_t reply_in_place(unsigned char *buf, size_t len) {
    if (len < 12 || (buf[2] & 0x80) != 0) return 0;         /* too short, or a response */
    if (buf[4] != 0 || buf[5] != 1) return 0;                /* QDCOUNT must be 1 */
    size_t i = 12;
    while (i < len && buf[i] != 0) {
        if (buf[i] > 63) return 0;                           /* no compression in a question */
        i += (size_t)buf[i] + 1;
    }
    if (i + 5 > len) return 0;                               /* root label + type + class */
    i += 5;
    buf[2] = (unsigned char)((buf[2] & 0x79) | 0x84);        /* QR, AA; keep opcode and RD; TC=0 */
    buf[3] = 0;                                              /* RA=0, Z=0, RCODE=NOERROR */
    static const unsigned char counts[8] = {0, 1, 0, 1, 0, 0, 0, 0};
    memcpy(buf + 4, counts, sizeof counts);                  /* QD=1 AN=1 NS=0 AR=0 */
    static const unsigned char a_record[ROOM] = {
        0xC0, 0x0C,             /* owner: the question name */
        0x00, 0x01, 0x00, 0x01, /* A, IN */
        0x00, 0x00, 0x00, 0x00, /* TTL 0 */
        0x00, 0x04, 127, 0, 0, 1};
    memcpy(buf + i, a_record, ROOM);                         /* the slot always has ROOM spare */
    return i + ROOM;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [BATCH [GSO]]\n", argv[0]);
        return 2;
    }
    const int port = atoi(argv[1]);
    int batch = argc > 2 ? atoi(argv[2]) : 64;
    const int gso = argc > 3 ? atoi(argv[3]) : 0;
    if (port <= 0 || port > 65535 || batch < 1 || batch > MAX_BATCH || gso < 0 || gso > 1) {
        fprintf(stderr, "%s: PORT must be 1..65535, BATCH 1..%d and GSO 0 or 1\n", argv[0],
                MAX_BATCH);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART, so a blocked recvmmsg returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    struct sockaddr_in local;
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_port = htons((unsigned short)port);
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
        perror("bind");
        return 1;
    }

    static unsigned char slots[MAX_BATCH][SLOT];
    static struct sockaddr_in from[MAX_BATCH];
    static struct iovec in_iov[MAX_BATCH], out_iov[MAX_BATCH];
    static struct mmsghdr in[MAX_BATCH], out[MAX_BATCH];
    static size_t lens[MAX_BATCH];
    static char taken[MAX_BATCH];
    static union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(unsigned short))];
    } cmsgs[MAX_BATCH];
    for (int k = 0; k < batch; k++) {
        in_iov[k].iov_base = slots[k];
        in[k].msg_hdr.msg_iov = &in_iov[k];
        in[k].msg_hdr.msg_iovlen = 1;
        in[k].msg_hdr.msg_name = &from[k];
    }

    unsigned long long replies = 0;
    while (!stopping) {
        for (int k = 0; k < batch; k++) {
            in_iov[k].iov_len = SLOT - ROOM;
            in[k].msg_hdr.msg_namelen = sizeof from[k];
        }
        /* Wait for one datagram, then take whatever else is already queued. */
        const int got = recvmmsg(fd, in, (unsigned)batch, MSG_WAITFORONE, NULL);
        if (got <= 0) continue; /* EINTR (stopping) or a transient error */
        int n = 0, niov = 0;
        for (int k = 0; k < got; k++) {
            lens[k] = reply_in_place(slots[k], in[k].msg_len);
            taken[k] = 0;
        }
        for (int k = 0; k < got; k++) {
            if (taken[k] || lens[k] == 0) continue;
            struct msghdr *h = &out[n].msg_hdr;
            memset(h, 0, sizeof *h);
            h->msg_name = &from[k];
            h->msg_namelen = in[k].msg_hdr.msg_namelen;
            h->msg_iov = &out_iov[niov];
            out_iov[niov].iov_base = slots[k];
            out_iov[niov++].iov_len = lens[k];
            int segs = 1;
            for (int j = k + 1; gso && j < got && segs < 64; j++) {
                if (taken[j] || lens[j] != lens[k] || memcmp(&from[j], &from[k], 8) != 0) continue;
                taken[j] = 1;
                out_iov[niov].iov_base = slots[j];
                out_iov[niov++].iov_len = lens[j];
                segs++;
            }
            h->msg_iovlen = (size_t)segs;
            if (segs > 1) {
                const unsigned short seg = (unsigned short)lens[k];
                memset(&cmsgs[n], 0, sizeof cmsgs[n]);
                cmsgs[n].h.cmsg_level = SOL_UDP;
                cmsgs[n].h.cmsg_type = UDP_SEGMENT;
                cmsgs[n].h.cmsg_len = CMSG_LEN(sizeof seg);
                memcpy(CMSG_DATA(&cmsgs[n].h), &seg, sizeof seg);
                h->msg_control = &cmsgs[n];
                h->msg_controllen = CMSG_SPACE(sizeof seg);
            }
            n++;
        }
        for (int sent = 0; sent < n;) {
            const int rc = sendmmsg(fd, out + sent, (unsigned)(n - sent), 0);
            if (rc < 0) {
                if (errno == EINTR && !stopping) continue;
                if (stopping) break;
                sent++; /* a full socket buffer or a bad address: drop that reply, send the rest */
                continue;
            }
            sent += rc;
            replies += (unsigned long long)rc;
        }
    }
    fprintf(stderr, "dns_floor: %llu replies\n", replies);
    close(fd);
    return 0;
}
