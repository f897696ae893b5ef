package fetch

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// ErrRefusedAddress is wrapped when a connection would go to an address the
// policy refuses.
var ErrRefusedAddress = errors.New("refused address")

// Policy decides which resolved addresses downloads may connect to.
type Policy struct {
	AllowPrivate bool           // everything allowed (tests, private caches)
	Allow        []netip.Prefix // allowed even though private
}

// ParsePolicy builds a Policy from DOWNLOAD_ALLOW_PRIVATE_NETWORKS and the
// CIDRs of DOWNLOAD_ALLOW_NETWORKS (a bare address means that host only).
func ParsePolicy(allowPrivate bool, cidrs []string) (Policy, error) {
	p := Policy{AllowPrivate: allowPrivate}
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return Policy{}, fmt.Errorf("allowed network %q: %w", c, err)
			}
			p.Allow = append(p.Allow, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pr, err := netip.ParsePrefix(c)
		if err != nil {
			return Policy{}, fmt.Errorf("allowed network %q: %w", c, err)
		}
		if pr.Addr().Is4In6() {
			pr = netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-96)
		}
		p.Allow = append(p.Allow, pr.Masked())
	}
	return p, nil
}

var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata (IPv6)
	netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata
}

// Check returns an error wrapping ErrRefusedAddress when a is loopback,
// private, link-local, multicast, unspecified, reserved or a cloud metadata
// address, unless the policy allows it.
func (p Policy) Check(a netip.Addr) error {
	a = a.Unmap()
	if p.AllowPrivate {
		return nil
	}
	for _, pr := range p.Allow {
		if pr.Contains(a) {
			return nil
		}
	}
	bad := a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid()
	for _, pr := range special {
		bad = bad || pr.Contains(a)
	}
	if bad {
		return fmt.Errorf("%w %s (not a public address; see DOWNLOAD_ALLOW_NETWORKS)", ErrRefusedAddress, a)
	}
	if v4, ok := embeddedIPv4(a); ok {
		if err := p.Check(v4); err != nil {
			return fmt.Errorf("%s carries %w", a, err)
		}
	}
	return nil
}

var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96") // NAT64 well-known prefix (RFC 6052)
	sixToV4 = netip.MustParsePrefix("2002::/16")    // 6to4 (RFC 3056)
)

// embeddedIPv4 returns the IPv4 address that a NAT64 or 6to4 address
// reaches through a translator or relay (on an IPv6-only host with NAT64,
// 64:ff9b::a00:1 is 10.0.0.1).
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToV4.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// control is the net.Dialer Control hook: it runs after DNS resolution for
// every address a connection is attempted to, redirects included.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read %q", ErrRefusedAddress, address)
	}
	return p.Check(ap.Addr())
}
