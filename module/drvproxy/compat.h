/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the few kernel API differences between 6.1 and 6.12
 *
 * Every difference drvproxy cares about lives here, decided by feature
 * probes in Kbuild (grep of the kernel's own headers) rather than by
 * version numbers, so a backport is detected for what it is.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_COMPAT_H
#define _DRVPROXY_COMPAT_H

#include <linux/module.h>

/*
 * 6.10 dropped the source argument of __assign_str(): the source is the
 * TP_ARGS() parameter of the field's name since.
 */
#ifdef DPX_HAVE_ASSIGN_STR_DST_ONLY
#define dpx_assign_str(dst, src)	do { (void)(src); __assign_str(dst); } while (0)
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
#ifdef DPX_HAVE_MODULE_MEMORY
	*start = mod->mem[MOD_TEXT].base;
	*size = mod->mem[MOD_TEXT].size;
#else
	*start = mod->core_layout.base;
	*size = mod->core_layout.text_size;
#endif
}

#endif /* _DRVPROXY_COMPAT_H */
