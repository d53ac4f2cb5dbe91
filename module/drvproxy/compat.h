/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the few kernel API differences between 6.1 and 6.12
 *
 * Every version check of drvproxy lives here, so the rest of the code is
 * written against 6.12.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_COMPAT_H
#define _DRVPROXY_COMPAT_H

#include <linux/module.h>
#include <linux/version.h>

/* 6.10 dropped the source argument of __assign_str(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define dpx_assign_str(dst, src)	__assign_str(dst)
#else
#define dpx_assign_str(dst, src)	__assign_str(dst, src)
#endif

/* 6.4 split a module's memory into mem[]; before, core_layout held the text. */
static inline void dpx_module_text(struct module *mod, void **start,
				   unsigned long *size)
{
	if (!mod) {
		*start = NULL;
		*size = 0;
		return;
	}
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	*start = mod->mem[MOD_TEXT].base;
	*size = mod->mem[MOD_TEXT].size;
#else
	*start = mod->core_layout.base;
	*size = mod->core_layout.text_size;
#endif
}

#endif /* _DRVPROXY_COMPAT_H */
