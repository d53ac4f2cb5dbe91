// SPDX-License-Identifier: GPL-2.0
/*
 * trace.c - instantiates the tracepoints declared in trace.h
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define CREATE_TRACE_POINTS
#include "trace.h"
