/* The trace callback the programs give their AWS client: each attempt of each call as one
 * debug line (--verbose), with journal fields when logging to the journal. */
#ifndef ASGSWAP_TRACE_H
#define ASGSWAP_TRACE_H

#include "aws.h"

void aws_trace_to_log(void *userdata, const struct aws_trace *t);

#endif
