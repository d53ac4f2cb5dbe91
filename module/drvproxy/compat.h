/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the few kernel API differences between 6.1 and the newest kernel
 *
 * Every difference the tree's modules care about lives here, decided by
 * feature probes in compat.kbuild (grep of the kernel's own headers) rather
 * than by version numbers, so a backport is detected for what it is.  The
 * KUnit suites and the tools' modules include it too, with their Kbuild
 * including compat.kbuild.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef _DRVPROXY_COMPAT_H
#define _DRVPROXY_COMPAT_H

#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/stringify.h>

/*
 * 6.10 dropped the source argument of __assign_str(): the source is the
 * TP_ARGS() parameter of the field's name since.
 */
#ifdef DPX_HAVE_ASSIGN_STR_DST_ONLY
#define dpx_assign_str(dst, src)	do { (void)(src); __assign_str(dst); } while (0)
#else
#define dpx_assign_str(dst, src)	__assign_str(dst, src)
#endif

/*
 * 6.11 gave file_operations its fop_flags (FOP_* values); before, a
 * driver has none to set.
 */
#ifdef DPX_HAVE_FOP_FLAGS
#define dpx_have_fop_flags()		true
#define dpx_set_fop_flags(f, flags)	((f)->fop_flags = (__force fop_flags_t)(flags))
#else
#define dpx_have_fop_flags()		false
#define dpx_set_fop_flags(f, flags)	((void)(f), (void)(flags))
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

/*
 * Newer kernels pass show() and store() of a struct module_attribute a const
 * pointer to the attribute; declare the first parameter as
 * "DPX_MODULE_ATTR_CONST struct module_attribute *attr".
 */
#ifdef DPX_HAVE_CONST_MODULE_ATTRIBUTE
#define DPX_MODULE_ATTR_CONST	const
#else
#define DPX_MODULE_ATTR_CONST
#endif

/*
 * 6.13: MODULE_IMPORT_NS() takes the namespace as a string literal; before,
 * it stringified a bare identifier.  DPX_MODULE_IMPORT_NS() takes the bare
 * identifier on every kernel.
 */
#ifdef DPX_HAVE_IMPORT_NS_STRING
#define DPX_MODULE_IMPORT_NS(ns)	MODULE_IMPORT_NS(__stringify(ns))
#else
#define DPX_MODULE_IMPORT_NS(ns)	MODULE_IMPORT_NS(ns)
#endif

/*
 * Newer kernels set an hrtimer's callback in hrtimer_setup() and no longer
 * have hrtimer_init(), which left the callback to the caller.
 */
static inline void dpx_hrtimer_setup(struct hrtimer *timer,
				     enum hrtimer_restart (*function)(struct hrtimer *),
				     clockid_t clock_id, enum hrtimer_mode mode)
{
#ifdef DPX_HAVE_HRTIMER_SETUP
	hrtimer_setup(timer, function, clock_id, mode);
#else
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
#endif
}

/* 6.2: device_type's devnode() takes a const device. */
#ifdef DPX_HAVE_CONST_DEVNODE
#define DPX_DEVNODE_CONST	const
#else
#define DPX_DEVNODE_CONST
#endif

#endif /* _DRVPROXY_COMPAT_H */
