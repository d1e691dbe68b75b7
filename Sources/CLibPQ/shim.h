#ifndef HACKSYNC_CLIBPQ_SHIM_H
#define HACKSYNC_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>
#endif
