/* SPDX-License-Identifier: GPL-2.0 */
/*
 * load.h - drvproxyctl load (load.c)
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef DRVPROXYCTL_LOAD_H
#define DRVPROXYCTL_LOAD_H

#define LOAD_USAGE	1
#define LOAD_ERROR	5

int cmd_load(int argc, char **argv);

#endif
