/* libxml2 helpers for AWS responses: parsing with network and entity expansion off, and
 * element lookup by local name (namespaces differ between the docs and the services). */
#ifndef ASGSWAP_XML_H
#define ASGSWAP_XML_H

#include <stddef.h>

#include <libxml/tree.h>

#include "macro.h"

#define XML_MAX_DOCUMENT ((size_t)16 << 20)

/* -EBADMSG for anything that is not a well-formed document, or that carries a DTD. */
int xml_parse(const char *data, size_t len, xmlDoc **ret);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDoc *, xmlFreeDoc)

/* First element child of parent with this local name, or NULL (parent may be NULL). */
xmlNode *xml_child(const xmlNode *parent, const char *name);
/* Next element sibling after node with the same local name. */
xmlNode *xml_next(const xmlNode *node, const char *name);
/* First descendant (depth first, node itself excluded) with this local name. */
xmlNode *xml_find(const xmlNode *node, const char *name);
/* Follows "A/B/C" through first children by local name. */
xmlNode *xml_path(const xmlNode *node, const char *path);
/* Text content of node, a copy to free(); NULL when node is NULL or out of memory. */
char *xml_text(const xmlNode *node);
/* Text of the child element `name`: 0, -ENOENT when absent, -ENOMEM. */
int xml_child_text(const xmlNode *node, const char *name, char **ret);

#define XML_FOREACH_CHILD(c, parent, name) \
	for (xmlNode *c = xml_child(parent, name); c; c = xml_next(c, name))

#endif
