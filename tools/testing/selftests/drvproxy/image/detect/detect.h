/* SPDX-License-Identifier: GPL-2.0 */
/*
 * detect.h - what drvproxy_detect exports (detect.c)
 *
 * Copyright (C) 2026 The drvproxy developers
 */
#ifndef DRVPROXY_DETECT_H
#define DRVPROXY_DETECT_H

unsigned long det_total(void);

#endif
