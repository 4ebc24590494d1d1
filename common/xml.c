#include <errno.h>
#include <string.h>

#include <libxml/parser.h>

#include "strutil.h"
#include "xml.h"
#include "banned.h"

static void xml_silence(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

int xml_parse(const char *data, size_t len, xmlDoc **ret)
{
	xmlDoc *doc;

	/* AWS never sends a DTD; refusing one up front means no entity is ever declared, so
	 * neither expansion bombs nor external entities can reach the parser. AWS answers in
	 * UTF-8 only, and the document is read as UTF-8 whatever it declares: in UTF-16 or
	 * UTF-7 a DTD would not show as "<!DOCTYPE" to the check below. */
	if (len > XML_MAX_DOCUMENT || len > INT32_MAX)
		return -E2BIG;
	if (memmem(data, len, "<!DOCTYPE", 9) || memmem(data, len, "<!ENTITY", 8))
		return -EBADMSG;
	xmlSetGenericErrorFunc(NULL, xml_silence);
	doc = xmlReadMemory(data, (int)len, "aws.xml", "UTF-8",
	                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                            XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC);
	if (!doc)
		return -EBADMSG;
	if (doc->intSubset || doc->extSubset || !xmlDocGetRootElement(doc)) {
		xmlFreeDoc(doc);
		return -EBADMSG;
	}
	*ret = doc;
	return 0;
}

static bool is_element(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && streq((const char *)n->name, name);
}

xmlNode *xml_child(const xmlNode *parent, const char *name)
{
	if (!parent)
		return NULL;
	for (xmlNode *c = parent->children; c; c = c->next)
		if (is_element(c, name))
			return c;
	return NULL;
}

xmlNode *xml_next(const xmlNode *node, const char *name)
{
	for (xmlNode *c = node->next; c; c = c->next)
		if (is_element(c, name))
			return c;
	return NULL;
}

xmlNode *xml_find(const xmlNode *node, const char *name)
{
	if (!node)
		return NULL;
	/* Iterative pre-order walk: hostile nesting depth cannot exhaust the stack. */
	for (const xmlNode *n = node->children; n && n != node;) {
		if (is_element(n, name))
			return (xmlNode *)n;
		if (n->children && n->type == XML_ELEMENT_NODE) {
			n = n->children;
			continue;
		}
		while (n != node && !n->next)
			n = n->parent;
		if (n == node)
			break;
		n = n->next;
	}
	return NULL;
}

xmlNode *xml_path(const xmlNode *node, const char *path)
{
	const xmlNode *n = node;

	while (n && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);
		_cleanup_free_ char *part = strndup(path, len);

		if (!part)
			return NULL;
		n = xml_child(n, part);
		path += len + (slash ? 1 : 0);
	}
	return (xmlNode *)n;
}

char *xml_text(const xmlNode *node)
{
	xmlChar *c;
	char *s;

	if (!node)
		return NULL;
	c = xmlNodeGetContent(node);
	s = strdup(c ? (const char *)c : "");
	xmlFree(c);
	return s;
}

int xml_child_text(const xmlNode *node, const char *name, char **ret)
{
	xmlNode *c = xml_child(node, name);
	char *s;

	if (!c)
		return -ENOENT;
	s = xml_text(c);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}
