# mirror.sh: sourced by build-image and build-shadow.
# The machine's own Debian mirror: the first URI of a deb822 or one-line
# source for $suite that is not the security archive.
mirror_of() {	# suite-pattern
	{
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -r "$f" ] || continue
			awk -v pat="$1" '
			/^[ \t]*$/ { if (u != "" && s ~ pat) print u; u = s = ""; next }
			/^URIs:/ { u = $2 } /^Suites:/ { s = $0 }
			END { if (u != "" && s ~ pat) print u }' "$f"
		done
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		    2>/dev/null | awk -v pat="$1" \
		    '$1 == "deb" && $0 ~ pat { for (i = 2; i <= NF; i++)
			if ($i ~ /^[a-z]+:\/\//) { print $i; break } }'
	} | head -n 1
}
