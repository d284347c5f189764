/* SPDX-License-Identifier: Apache-2.0 */
/*
 * image_ref: image name normalisation, as docker/distribution's reference.ParseNormalizedNamed
 * followed by containerd's default tag (reference.TagNameOnly). Only sha256 digests exist in
 * this store, so only they are accepted after '@'.
 */
#include "image.h"
#include "image_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NAME_TOTAL_MAX 255 /* reference.NameTotalLengthMax */

static void seterr(char *err, size_t errlen, const char *msg, const char *ref)
{
	if (err && errlen)
		snprintf(err, errlen, msg, ref);
}

bool image_is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

bool image_is_digest(const char *s)
{
	return strncmp(s, "sha256:", 7) == 0 && image_is_hex64(s + 7, strlen(s + 7));
}

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)* */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !alnum_lower(s[0]) || !alnum_lower(s[n - 1]))
		return false;
	while (i < n) {
		if (alnum_lower(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		if (s[i] == '.')
			j = i + 1;
		else if (s[i] == '_')
			j = (i + 1 < n && s[i + 1] == '_') ? i + 2 : i + 1;
		else if (s[i] == '-')
			while (j < n && s[j] == '-')
				j++;
		else
			return false;
		if (j >= n || !alnum_lower(s[j]))
			return false;
		i = j;
	}
	return true;
}

/* A domain: host components (letters, digits, inner '-') joined by '.', optional :port. */
static bool domain_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n;
	if (colon) {
		if (colon + 1 == s + n)
			return false;
		for (const char *p = colon + 1; p < s + n; p++)
			if (!isdigit((unsigned char)*p))
				return false;
	}
	size_t start = 0;
	for (size_t i = 0; i <= hn; i++) {
		if (i < hn && s[i] != '.')
			continue;
		size_t len = i - start;
		if (len == 0 || s[start] == '-' || s[i - 1] == '-')
			return false;
		for (size_t k = start; k < i; k++)
			if (!isalnum((unsigned char)s[k]) && s[k] != '-')
				return false;
		start = i + 1;
	}
	return true;
}

/* [\w][\w.-]{0,127} */
static bool tag_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool w = isalnum((unsigned char)c) || c == '_';
		if (!w && (i == 0 || (c != '.' && c != '-')))
			return false;
	}
	return true;
}

int image_ref_normalize(const char *ref, char *out, size_t outlen, char *err, size_t errlen)
{
	char buf[IMAGE_REF_MAX];
	size_t n = strlen(ref);

	if (image_is_hex64(ref, n)) {
		seterr(err, errlen,
		       "invalid repository name (%s), cannot specify 64-byte hexadecimal strings",
		       ref);
		return -EINVAL;
	}
	if (n == 0 || n >= sizeof(buf)) {
		seterr(err, errlen, "invalid reference format: %s", ref);
		return -EINVAL;
	}
	memcpy(buf, ref, n + 1);

	/* name[:tag][@digest] */
	const char *digest = NULL;
	char *at = strchr(buf, '@');
	if (at) {
		*at = '\0';
		digest = at + 1;
		if (!image_is_digest(digest)) {
			seterr(err, errlen, "invalid reference format: %s", ref);
			return -EINVAL;
		}
	}
	const char *tag = NULL;
	char *slash = strrchr(buf, '/');
	char *colon = strrchr(slash ? slash : buf, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		if (!tag_ok(tag, strlen(tag))) {
			seterr(err, errlen, "invalid reference format: %s", ref);
			return -EINVAL;
		}
	}

	/* splitDockerDomain */
	const char *domain = "docker.io", *remainder = buf;
	char *first = strchr(buf, '/');
	bool lib = false;
	if (first) {
		size_t dn = (size_t)(first - buf);
		bool lower = true;
		for (size_t i = 0; i < dn; i++)
			if (isupper((unsigned char)buf[i]))
				lower = false;
		if (memchr(buf, '.', dn) || memchr(buf, ':', dn) ||
		    (dn == 9 && strncmp(buf, "localhost", 9) == 0) || !lower) {
			*first = '\0';
			domain = buf;
			remainder = first + 1;
			if (!domain_ok(domain, dn)) {
				seterr(err, errlen, "invalid reference format: %s", ref);
				return -EINVAL;
			}
			if (strcmp(domain, "index.docker.io") == 0)
				domain = "docker.io";
		}
	}
	if (strcmp(domain, "docker.io") == 0 && !strchr(remainder, '/'))
		lib = true;

	/* ParseNormalizedNamed checks the whole remote name (library/ added) for case first */
	for (const char *c = remainder; *c; c++)
		if (isupper((unsigned char)*c)) {
			if (err && errlen)
				snprintf(err, errlen,
					 "invalid reference format: repository name (%s%s) must be "
					 "lowercase",
					 lib ? "library/" : "", remainder);
			return -EINVAL;
		}
	/* the path: components joined by '/' */
	const char *p = remainder;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t cn = e ? (size_t)(e - p) : strlen(p);
		if (!path_component_ok(p, cn)) {
			seterr(err, errlen, "invalid reference format: %s", ref);
			return -EINVAL;
		}
		if (!e)
			break;
		p = e + 1;
	}

	char name[IMAGE_REF_MAX];
	int w = snprintf(name, sizeof(name), "%s/%s%s", domain, lib ? "library/" : "", remainder);
	if (w < 0 || (size_t)w >= sizeof(name) || w > NAME_TOTAL_MAX) {
		seterr(err, errlen,
		       "invalid reference format: repository name (%s) must not be more than 255 "
		       "characters",
		       ref);
		return -EINVAL;
	}
	/* TagNameOnly: a name without tag or digest gets :latest */
	if (!tag && !digest)
		tag = "latest";
	w = snprintf(out, outlen, "%s%s%s%s%s", name, tag ? ":" : "", tag ? tag : "",
		     digest ? "@" : "", digest ? digest : "");
	if (w < 0 || (size_t)w >= outlen)
		return -ENAMETOOLONG;
	return 0;
}
