/* SPDX-License-Identifier: GPL-2.0 */
/*
 * drvproxy tracepoints (events/drvproxy/ in tracefs)
 *
 * swap_begin/swap_phase/publish/swap_end follow a transition (register,
 * apply or revert) through its phases; drain_done marks a superseded table
 * freed (no call left in it); redispatch marks a call that left a
 * swap-aware wait, and the table it entered, because of a swap.  Errors show as a non-zero result.
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM drvproxy

#if !defined(_DRVPROXY_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _DRVPROXY_TRACE_H

#include <linux/tracepoint.h>

#include "compat.h"

#define DPX_SHOW_OP(op)							\
	__print_symbolic(op, { 0, "register" }, { 1, "apply" }, { 2, "revert" })
#define DPX_SHOW_PHASE(phase)							\
	__print_symbolic(phase, { 0, "pre" }, { 1, "stalled" }, { 2, "post" })

TRACE_EVENT(drvproxy_swap_begin,
	    TP_PROTO(const char *driver, const char *who, int op, int mode),
	    TP_ARGS(driver, who, op, mode),
	    TP_STRUCT__entry(__string(driver, driver)
			     __string(who, who)
			     __field(int, op)
			     __field(int, mode)),
	    TP_fast_assign(dpx_assign_str(driver, driver);
			   dpx_assign_str(who, who);
			   __entry->op = op;
			   __entry->mode = mode;),
	    TP_printk("driver=%s by=%s op=%s mode=%s",
		      __get_str(driver), __get_str(who),
		      DPX_SHOW_OP(__entry->op),
		      __entry->mode ? "stalled" : "live")
);

TRACE_EVENT(drvproxy_swap_phase,
	    TP_PROTO(const char *driver, int phase, int result),
	    TP_ARGS(driver, phase, result),
	    TP_STRUCT__entry(__string(driver, driver)
			     __field(int, phase)
			     __field(int, result)),
	    TP_fast_assign(dpx_assign_str(driver, driver);
			   __entry->phase = phase;
			   __entry->result = result;),
	    TP_printk("driver=%s phase=%s result=%d",
		      __get_str(driver),
		      DPX_SHOW_PHASE(__entry->phase),
		      __entry->result)
);

TRACE_EVENT(drvproxy_publish,
	    TP_PROTO(const char *driver, u64 generation, bool stall),
	    TP_ARGS(driver, generation, stall),
	    TP_STRUCT__entry(__string(driver, driver)
			     __field(u64, generation)
			     __field(bool, stall)),
	    TP_fast_assign(dpx_assign_str(driver, driver);
			   __entry->generation = generation;
			   __entry->stall = stall;),
	    TP_printk("driver=%s generation=%llu%s",
		      __get_str(driver),
		      __entry->generation,
		      __entry->stall ? " (stall)" : "")
);

TRACE_EVENT(drvproxy_drain_done,
	    TP_PROTO(const char *driver, u64 generation),
	    TP_ARGS(driver, generation),
	    TP_STRUCT__entry(__string(driver, driver)
			     __field(u64, generation)),
	    TP_fast_assign(dpx_assign_str(driver, driver);
			   __entry->generation = generation;),
	    TP_printk("driver=%s generation=%llu retired",
		      __get_str(driver),
		      __entry->generation)
);

TRACE_EVENT(drvproxy_swap_end,
	    TP_PROTO(const char *driver, const char *who, int op, int result, u64 ns),
	    TP_ARGS(driver, who, op, result, ns),
	    TP_STRUCT__entry(__string(driver, driver)
			     __string(who, who)
			     __field(int, op)
			     __field(int, result)
			     __field(u64, ns)),
	    TP_fast_assign(dpx_assign_str(driver, driver);
			   dpx_assign_str(who, who);
			   __entry->op = op;
			   __entry->result = result;
			   __entry->ns = ns;),
	    TP_printk("driver=%s by=%s op=%s result=%d duration_ns=%llu",
		      __get_str(driver), __get_str(who),
		      DPX_SHOW_OP(__entry->op),
		      __entry->result, __entry->ns)
);

TRACE_EVENT(drvproxy_redispatch,
	    TP_PROTO(const char *driver, u64 generation),
	    TP_ARGS(driver, generation),
	    TP_STRUCT__entry(__string(driver, driver)
			     __field(u64, generation)),
	    TP_fast_assign(dpx_assign_str(driver, driver);
			   __entry->generation = generation;),
	    TP_printk("driver=%s left generation=%llu", __get_str(driver),
		      __entry->generation)
);
#endif /* _DRVPROXY_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
