// SPDX-License-Identifier: GPL-2.0
/*
 * echo_rot13.c - drvproxy_echo_rot13.ko: a companion of drvproxy_echo that
 * replaces its read, live
 *
 * While loaded, a read returns the stored message ROT13-encoded; the
 * message itself is unchanged, so unloading the companion reverts to the
 * original read on the same data.  Written by following the "Writing a
 * companion" part of Documentation/howto.rst: the shared header, a
 * DRVPROXY_REPLACEMENT() with the endpoint's parameter types, a layer
 * applied in init and reverted in exit.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/module.h>

#include "echo.h"

static char rot13(char c)
{
	if (!isalpha(c))
		return c;
	return (islower(c) ? 'a' : 'A') + (tolower(c) - 'a' + 13) % 26;
}

DRVPROXY_REPLACEMENT(ssize_t, echo_read, echo_rot13_read, struct file *, file,
		     char __user *, buf, size_t, count, loff_t *, ppos)
{
	struct echo_state *st = echo_st(file);
	char tmp[ECHO_SIZE];
	size_t i, len;

	mutex_lock(&st->lock);
	len = st->len;
	for (i = 0; i < len; i++)
		tmp[i] = rot13(st->msg[i]);
	mutex_unlock(&st->lock);
	return simple_read_from_buffer(buf, count, ppos, tmp, len);
}

static struct drvproxy_layer echo_rot13_layer = {
	DRVPROXY_LAYER(ECHO_NAME, DRVPROXY_MODE_LIVE),
};

static int __init echo_rot13_init(void)
{
	return drvproxy_layer_apply(&echo_rot13_layer);
}

static void __exit echo_rot13_exit(void)
{
	drvproxy_layer_revert(&echo_rot13_layer);
}

module_init(echo_rot13_init);
module_exit(echo_rot13_exit);

MODULE_DESCRIPTION("drvproxy example: ROT13 read for drvproxy_echo, swapped in live");
MODULE_AUTHOR("The drvproxy developers");
MODULE_LICENSE("GPL");
