/*
 * The systemd notification protocol (sd_notify(3)) without ever blocking for long: one
 * datagram to $NOTIFY_SOCKET ("/path" or "@abstract"). libsystemd's sd_notify() blocks in
 * sendmsg() when the receiver's queue is full; a boot agent must not hang on that.
 */
#ifndef ASGSWAP_NOTIFY_H
#define ASGSWAP_NOTIFY_H

#include "macro.h"

#define NOTIFY_TIMEOUT_MS 2000

/* 0 when sent, 1 when NOTIFY_SOCKET is unset (nothing to do), a negative errno otherwise
 * (-EAGAIN when the receiver stayed full for NOTIFY_TIMEOUT_MS). */
int notify_send(const char *text);
int notify_sendf(const char *fmt, ...) _printf_(1, 2);

#endif
