/* SPDX-License-Identifier: GPL-2.0 */
/*
 * control.h - the prototypes of control.c's endpoints with external
 * linkage, as a driver's header would give them
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef DPX_BUILDFAIL_CONTROL_H
#define DPX_BUILDFAIL_CONTROL_H

void bf_void_global(int *counter);
void bf_atomic_void_global(int *counter);

#endif
