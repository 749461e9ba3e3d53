#!/usr/bin/perl
# t0card.pl PORT — a scripted T=0 card for pcscd's vpcd driver, to test
# how the pcsc: link handles 61xx and 6Cxx (the served simulator is a
# T=1 card).  ATR 3B 00: T=0 only.  Answers:
#   80 CA 00 00 Le   Le != 10: 6C 10; Le = 10: 16 bytes 00..0F and 61 08
#   00 C0 00 00 08   (after the above) 8 bytes 10..17 and 90 00
#   80 CB 00 00 Lc.. 61 04;  00 C0 00 00 04: AA BB CC DD 90 00
#   anything else    6D 00
# Exits when the connection closes.  perl-base only.
use strict;
use warnings;
use Socket qw(:DEFAULT IPPROTO_TCP);

my $port = shift // 35963;
socket(my $s, PF_INET, SOCK_STREAM, getprotobyname('tcp')) or die "socket: $!";
connect($s, sockaddr_in($port, inet_aton('127.0.0.1'))) or die "connect: $!";
setsockopt($s, IPPROTO_TCP, 1, 1);    # TCP_NODELAY
my $pending = '';                     # what GET RESPONSE returns next

sub get {
	my ($n) = @_;
	my $buf = '';
	while (length($buf) < $n) {
		setsockopt($s, IPPROTO_TCP, 12, 1);    # TCP_QUICKACK
		my $r = sysread($s, $buf, $n - length($buf), length($buf));
		return undef unless $r;
	}
	return $buf;
}

sub answer {
	my ($rsp) = @_;
	syswrite($s, pack('n', length $rsp) . $rsp);
}

while (defined(my $len = get(2))) {
	my $msg = get(unpack('n', $len)) // last;
	if (length $msg == 1) {
		answer("\x3B\x00") if ord($msg) == 4;    # ATR; power and reset need no answer
		next;
	}
	my ($cla, $ins, $p1, $p2, $p3) = unpack('C5', $msg . "\0");
	if ($ins == 0xCA) {
		if ($p3 != 0x10) { answer("\x6C\x10"); next }
		answer(join('', map { chr } 0 .. 15) . "\x61\x08");
		$pending = join('', map { chr } 16 .. 23);
	} elsif ($ins == 0xCB) {
		answer("\x61\x04");
		$pending = "\xAA\xBB\xCC\xDD";
	} elsif ($ins == 0xC0 && length $pending && $p3 == length $pending) {
		answer($pending . "\x90\x00");
		$pending = '';
	} else {
		answer("\x6D\x00");
	}
}
