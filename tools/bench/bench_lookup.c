// SPDX-License-Identifier: GPL-2.0
/*
 * bench_lookup.c - the lookup-scaling benchmark
 *
 * "lookup NR ITERS" creates an extension without a driver, registers NR
 * endpoints with one V1 drvproxy_register_endpoints() call (ids 0..NR-1)
 * and times ITERS lookups of random registered endpoints by id
 * (drvproxy_get_endpoint_wrapper()) and by pointer
 * (drvproxy_get_wrapper_from_endpoint()), plus the same loop without the
 * lookup (the loop's own cost).
 *
 * The NR descriptors are built at run time by copying the descriptor of one
 * DRVPROXY_ENDPOINT_MANUAL() template into a kvcalloc()ed array: a
 * descriptor is plain data, and each can be bound once.  They share the
 * template's name and implementation, but the by-pointer index is keyed by
 * the wrapper address, so every copy gets a distinct fake wrapper: the
 * address of its own array element.  Lookups never call a wrapper, and no
 * call goes through these endpoints.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>

#include "bench.h"

#define BENCH_LOOKUP_KEYS	4096	/* power of two */
#define BENCH_LOOKUP_REPS	3

typedef long (*bench_fn_t)(void *ctx, long x);

DRVPROXY_ENDPOINT_MANUAL(long, bench_lookup_ep, void *, ctx, long, x)
{
	return bench_work(ctx, x);
}

struct bench_lookup {
	struct drvproxy_extension *ext;
	struct drvproxy_endpoint_desc *descs;
	u32 *ids;
	bench_fn_t *keys;
};

static noinline u64 bench_lookup_by_id(struct bench_lookup *b, unsigned long iters,
				       unsigned long *acc)
{
	unsigned long k;
	u64 t0 = ktime_get_ns();

	for (k = 0; k < iters; k++)
		*acc ^= (unsigned long)drvproxy_get_endpoint_wrapper(b->ext,
					b->ids[k & (BENCH_LOOKUP_KEYS - 1)]);
	return ktime_get_ns() - t0;
}

static noinline u64 bench_lookup_by_ptr(struct bench_lookup *b, unsigned long iters,
					unsigned long *acc)
{
	bench_fn_t w;
	unsigned long k;
	u64 t0 = ktime_get_ns();

	for (k = 0; k < iters; k++) {
		drvproxy_get_wrapper_from_endpoint(b->ext,
						   *b->keys[k & (BENCH_LOOKUP_KEYS - 1)], &w);
		*acc ^= (unsigned long)w;
	}
	return ktime_get_ns() - t0;
}

static noinline u64 bench_lookup_none(struct bench_lookup *b, unsigned long iters,
				      unsigned long *acc)
{
	unsigned long k;
	u64 t0 = ktime_get_ns();

	for (k = 0; k < iters; k++)
		*acc ^= (unsigned long)READ_ONCE(b->keys[k & (BENCH_LOOKUP_KEYS - 1)]);
	return ktime_get_ns() - t0;
}

/*
 * Every registered endpoint is found by id and by pointer, nothing else is.
 * (The typed lookup macro takes a function, hence the dereferenced keys.)
 */
static int bench_lookup_verify(struct bench_lookup *b, unsigned int nr)
{
	unsigned int i;
	bench_fn_t w;

	for (i = 0; i < nr; i++) {
		if (drvproxy_get_endpoint_wrapper(b->ext, i) != b->descs[i].wrapper)
			return -EIO;
		if (drvproxy_get_wrapper_from_endpoint(b->ext,
						       *(bench_fn_t)b->descs[i].wrapper, &w) ||
		    w != (bench_fn_t)b->descs[i].wrapper)
			return -EIO;
	}
	if (drvproxy_get_endpoint_wrapper(b->ext, nr) ||
	    !drvproxy_get_wrapper_from_endpoint(b->ext, bench_lookup_ep, &w))
		return -EIO;
	return 0;
}

int bench_lookup(unsigned int nr, unsigned long iters)
{
	struct drvproxy_endpoint_info *info = NULL;
	struct bench_lookup b = {};
	unsigned long acc = 0;
	unsigned int i, rep;
	u64 t0, reg_ns;
	int ret = -ENOMEM;

	b.descs = kvcalloc(nr, sizeof(*b.descs), GFP_KERNEL);
	info = kvcalloc(nr, sizeof(*info), GFP_KERNEL);
	b.ids = kcalloc(BENCH_LOOKUP_KEYS, sizeof(*b.ids), GFP_KERNEL);
	b.keys = kcalloc(BENCH_LOOKUP_KEYS, sizeof(*b.keys), GFP_KERNEL);
	if (!b.descs || !info || !b.ids || !b.keys)
		goto out;
	for (i = 0; i < nr; i++) {
		b.descs[i] = *DRVPROXY_DESC(bench_lookup_ep);
		b.descs[i].wrapper = (drvproxy_fn_t)&b.descs[i];
		info[i].id = i;
		info[i].endpoint = &b.descs[i];
	}
	for (i = 0; i < BENCH_LOOKUP_KEYS; i++) {
		b.ids[i] = get_random_u32_below(nr);
		b.keys[i] = (bench_fn_t)b.descs[b.ids[i]].wrapper;
	}

	ret = drvproxy_create_extension(NULL, 0, &b.ext);
	if (ret)
		goto out;
	t0 = ktime_get_ns();
	ret = drvproxy_register_endpoints(b.ext, info, nr, NULL, NULL);
	reg_ns = ktime_get_ns() - t0;
	if (ret)
		goto out_destroy;
	ret = bench_lookup_verify(&b, nr);
	if (ret)
		goto out_destroy;
	bench_out("DPXB lookup n=%u op=register ns=%llu\n", nr, reg_ns);

	for (rep = 0; rep < BENCH_LOOKUP_REPS; rep++) {
		bench_out("DPXB lookup n=%u op=id rep=%u iters=%lu ns=%llu\n", nr, rep,
			  iters, bench_lookup_by_id(&b, iters, &acc));
		bench_out("DPXB lookup n=%u op=ptr rep=%u iters=%lu ns=%llu\n", nr, rep,
			  iters, bench_lookup_by_ptr(&b, iters, &acc));
		bench_out("DPXB lookup n=%u op=loop rep=%u iters=%lu ns=%llu\n", nr, rep,
			  iters, bench_lookup_none(&b, iters, &acc));
		cond_resched();
	}
	bench_out("DPXB lookup n=%u op=checksum acc=%lu\n", nr, acc);

out_destroy:
	/* Unbinds the descriptors and waits for calls: they can be freed after. */
	drvproxy_destroy_extension(b.ext);
out:
	kfree(b.keys);
	kfree(b.ids);
	kvfree(info);
	kvfree(b.descs);
	return ret;
}
