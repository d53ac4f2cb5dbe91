// SPDX-License-Identifier: GPL-2.0
/*
 * raw_ops.c - the demo endpoints compiled as plain functions
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#define DRVPROXY_RAW
#include "demo_ops.c"
