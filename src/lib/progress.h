/*
 * progress.h: progress reports: a line on a terminal's stderr that never
 * runs backwards, and JSON lines on a descriptor for programs.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdint.h>

struct progress {
	const char	*what;		/* "save", "restore", "precopy" */
	int		 tty;		/* stderr is a terminal and not quiet */
	int		 json_fd;	/* -1 for none */
	uint64_t	 start_ns;
	uint64_t	 last_ns;
	double		 shown;		/* highest share shown so far */
	int		 dirty_line;	/* a line is on the terminal */
};

struct progress_info {
	int		 round;		/* -1 when not a live copy */
	uint64_t	 done;		/* pages handled so far (this round) */
	uint64_t	 total;		/* pages to handle (this round) */
	uint64_t	 mem_pages;	/* guest size */
	uint64_t	 bytes;		/* octets of stream so far */
	uint64_t	 dirty;		/* pages dirtied in the last round */
	double		 dirty_rate;	/* pages/s */
	double		 share;		/* 0..1 of the whole job, estimated */
};

void	progress_init(struct progress *, const char *what, int quiet,
	    int json_fd);
/* Redraw at most ten times a second, unless force. */
void	progress_update(struct progress *, const struct progress_info *,
	    int force);
/* One JSON object (already formatted, no newline) to the JSON fd. */
void	progress_json(struct progress *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Clear the terminal line before other output. */
void	progress_clear(struct progress *);

#endif /* PROGRESS_H */
