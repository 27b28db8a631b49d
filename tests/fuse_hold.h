/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pages that stay under writeback for as long as a test wants: a FUSE file
 * system of one file ("f", FUSE_HOLD_SIZE bytes of zeros) whose server, on
 * /dev/fuse's raw protocol (include/uapi/linux/fuse.h), answers every request
 * at once but holds each WRITE unanswered until fuse_hold_release(). FUSE
 * ends a folio's writeback when its server answers the WRITE
 * (fs/fuse/file.c: fuse_writepage_finish()), so the pages of a shared mapping
 * of "f" that sync_file_range() sends to writeback stay so until then:
 * numa_maps' writeback=.
 *
 * The server is a child of the caller, killed with it; once it is gone the
 * connection is aborted and any WRITE still held ends with an error.
 */
#ifndef FUSE_HOLD_H
#define FUSE_HOLD_H

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define FUSE_HOLD_SIZE (64 * 1024)
#define FUSE_HOLD_NODE 2
#define FUSE_HOLD_MAX 64

struct fuse_hold {
	pid_t server;
	/*
	 * Write end of the server's pipe (the debug kernel has no AF_UNIX): a
	 * byte, or closing it, answers the held WRITEs; SIGPIPE if it is gone.
	 */
	int release;
	char dir[64];
};

static inline void fuse_hold_reply(int fd, __u64 unique, int error, const void *arg,
				   size_t size)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + size, .error = error, .unique = unique,
	};
	struct iovec iov[2] = { { &out, sizeof(out) }, { (void *)arg, size } };

	if (writev(fd, iov, size ? 2 : 1) < 0 && errno != ENOENT)
		fprintf(stderr, "# fuse_hold: reply to %llu: %m\n", (unsigned long long)unique);
}

static inline void fuse_hold_attr(struct fuse_attr *attr, __u64 node)
{
	memset(attr, 0, sizeof(*attr));
	attr->ino = node;
	attr->blksize = 4096;
	if (node == FUSE_ROOT_ID) {
		attr->mode = S_IFDIR | 0755;
		attr->nlink = 2;
	} else {
		attr->mode = S_IFREG | 0644;
		attr->nlink = 1;
		attr->size = FUSE_HOLD_SIZE;
		attr->blocks = FUSE_HOLD_SIZE / 512;
	}
}

/* The server's loop, until the connection goes (unmounted, or aborted). */
static inline void fuse_hold_serve(int fd, int release)
{
	static char req[FUSE_MIN_READ_BUFFER + 1024 * 1024];
	static const char zeros[FUSE_HOLD_SIZE];
	struct fuse_write_out held[FUSE_HOLD_MAX];
	__u64 held_unique[FUSE_HOLD_MAX];
	int nheld = 0, holding = 1, i;

	for (;;) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { release, POLLIN, 0 } };
		const struct fuse_in_header *in = (const void *)req;
		const void *arg = in + 1;
		ssize_t n;

		if (poll(p, holding ? 2 : 1, -1) < 0)
			continue;
		if (holding && p[1].revents) {
			for (i = 0; i < nheld; i++)
				fuse_hold_reply(fd, held_unique[i], 0, &held[i], sizeof(held[i]));
			holding = 0;
		}
		if (!(p[0].revents & POLLIN)) {
			if (p[0].revents & (POLLERR | POLLHUP))
				return;
			continue;
		}
		n = read(fd, req, sizeof(req));
		if (n < 0 && (errno == ENOENT || errno == EINTR))
			continue;
		if (n < (ssize_t)sizeof(*in))
			return;

		switch (in->opcode) {
		case FUSE_INIT: {
			const struct fuse_init_in *init = arg;
			struct fuse_init_out out = {
				.major = FUSE_KERNEL_VERSION,
				.minor = init->minor,
				.max_readahead = init->max_readahead,
				.max_background = 16,
				.congestion_threshold = 12,
				.max_write = 1024 * 1024,
				.time_gran = 1,
				.max_pages = 256,
			};

			fuse_hold_reply(fd, in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_LOOKUP: {
			struct fuse_entry_out out = {
				.nodeid = FUSE_HOLD_NODE, .generation = 1,
				.entry_valid = 3600, .attr_valid = 3600,
			};

			if (in->nodeid != FUSE_ROOT_ID || strcmp(arg, "f")) {
				fuse_hold_reply(fd, in->unique, -ENOENT, NULL, 0);
				break;
			}
			fuse_hold_attr(&out.attr, FUSE_HOLD_NODE);
			fuse_hold_reply(fd, in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_GETATTR:
		case FUSE_SETATTR: {
			struct fuse_attr_out out = { .attr_valid = 3600 };

			fuse_hold_attr(&out.attr, in->nodeid);
			fuse_hold_reply(fd, in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_OPEN: {
			struct fuse_open_out out = { .fh = 1 };

			fuse_hold_reply(fd, in->unique, 0, &out, sizeof(out));
			break;
		}
		case FUSE_READ: {
			const struct fuse_read_in *rd = arg;
			size_t size = 0;

			if (rd->offset < FUSE_HOLD_SIZE)
				size = FUSE_HOLD_SIZE - rd->offset;
			if (size > rd->size)
				size = rd->size;
			fuse_hold_reply(fd, in->unique, 0, zeros, size);
			break;
		}
		case FUSE_WRITE: {
			const struct fuse_write_in *wr = arg;
			struct fuse_write_out out = { .size = wr->size };

			if (holding && nheld < FUSE_HOLD_MAX) {
				held_unique[nheld] = in->unique;
				held[nheld++] = out;
			} else {
				fuse_hold_reply(fd, in->unique, 0, &out, sizeof(out));
			}
			break;
		}
		case FUSE_FLUSH:
		case FUSE_RELEASE:
		case FUSE_FSYNC:
			fuse_hold_reply(fd, in->unique, 0, NULL, 0);
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
		case FUSE_INTERRUPT:
			break;
		default:
			fuse_hold_reply(fd, in->unique, -ENOSYS, NULL, 0);
		}
	}
}

/* Mount the file system on @dir and start its server; 0, or -1 (why on stderr). */
static inline int fuse_hold_start(struct fuse_hold *h, const char *dir)
{
	int fd, pipefd[2];
	char opts[96];

	snprintf(h->dir, sizeof(h->dir), "%s", dir);
	mkdir(dir, 0755);
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "# fuse_hold: /dev/fuse: %m\n");
		return -1;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("rust_procmaps", dir, "fuse", MS_NOSUID | MS_NODEV, opts)) {
		fprintf(stderr, "# fuse_hold: mount on %s: %m\n", dir);
		close(fd);
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		fprintf(stderr, "# fuse_hold: pipe: %m\n");
		close(fd);
		umount2(dir, MNT_DETACH);
		return -1;
	}
	h->server = fork();
	if (h->server == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pipefd[1]);
		fuse_hold_serve(fd, pipefd[0]);
		_exit(0);
	}
	close(fd);
	close(pipefd[0]);
	h->release = pipefd[1];
	if (h->server < 0) {
		fprintf(stderr, "# fuse_hold: fork: %m\n");
		close(h->release);
		umount2(dir, MNT_DETACH);
		return -1;
	}
	return 0;
}

/* Answer the WRITEs held so far and every later one at once: their pages leave writeback. */
static inline void fuse_hold_release(struct fuse_hold *h)
{
	if (write(h->release, "", 1) != 1)
		fprintf(stderr, "# fuse_hold: release: %m\n");
}

/* Unmount (lazily: mappings may still hold files) and end the server. */
static inline void fuse_hold_stop(struct fuse_hold *h)
{
	close(h->release);
	umount2(h->dir, MNT_DETACH);
	kill(h->server, SIGKILL);
	waitpid(h->server, NULL, 0);
}

#endif /* FUSE_HOLD_H */
