//go:build unix

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// TestPlaintextRefusedOffLoopback: without TLS, hepd serves only on loopback
// unless told --insecure-plaintext; it refuses before touching the database.
func TestPlaintextRefusedOffLoopback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "hep.db")
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		r := runHepd(t, "", "serve", "--listen", listen, "--db", db)
		if r.code != 2 || !strings.Contains(r.stderr, "--insecure-plaintext") {
			t.Errorf("hepd serve --listen %s without TLS: want exit 2 and a hint at --insecure-plaintext\n%v", listen, r)
		}
		if strings.Contains(r.stdout, listeningPrefix) {
			t.Errorf("hepd serve --listen %s without TLS listened:\n%v", listen, r)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("refused serve created the database (stat: %v)", err)
	}
}

// TestTLS serves over TLS with a certificate made here, for 127.0.0.1.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	srv := startServer(t, filepath.Join(dir, "hep.db"), "--tls-cert", certFile, "--tls-key", keyFile)

	cc := dialAddr(t, srv.addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})))
	resp, err := healthpb.NewHealthClient(cc).Check(callCtx(t, "", ""), &healthpb.HealthCheckRequest{})
	must(t, "health Check over TLS", err)
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health over TLS = %v, want SERVING", resp.GetStatus())
	}
	// The hep.v1 API is there too (and wants a token).
	_, err = hepv1.NewAuthServiceClient(cc).WhoAmI(callCtx(t, "", ""), &hepv1.WhoAmIRequest{})
	checkStatus(t, "WhoAmI over TLS without a token", err, codes.Unauthenticated, "UNAUTHENTICATED")

	// Plaintext, and TLS that does not trust the certificate, both fail.
	for name, creds := range map[string]credentials.TransportCredentials{
		"plaintext":     insecure.NewCredentials(),
		"untrusted TLS": credentials.NewTLS(&tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}),
	} {
		cc := dialAddr(t, srv.addr, grpc.WithTransportCredentials(creds))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil {
			t.Errorf("health Check with %s client succeeded against a TLS server", name)
		} else if c := status.Code(err); c != codes.Unavailable {
			t.Errorf("health Check with %s client: %v; want UNAVAILABLE", name, err)
		}
	}
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and its key
// to dir, and returns their paths and a pool trusting the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, "generating a key", err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "hepd e2e test"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, "creating the certificate", err)
	cert, err := x509.ParseCertificate(der)
	must(t, "parsing the certificate", err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, "marshalling the key", err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, "writing the certificate", os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, "writing the key", os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600))
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestHealthAndReflection checks the infrastructure services, which need no
// token.
func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	srv := startServer(t, filepath.Join(t.TempDir(), "hep.db"))
	cc := srv.dial(t)
	hc := healthpb.NewHealthClient(cc)
	for _, svc := range []string{"", "hep.v1.PatientService", "hep.v1.AuthService"} {
		resp, err := hc.Check(callCtx(t, "", ""), &healthpb.HealthCheckRequest{Service: svc})
		must(t, "health Check "+svc, err)
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health Check %q = %v, want SERVING", svc, resp.GetStatus())
		}
	}
	_, err := hc.Check(callCtx(t, "", ""), &healthpb.HealthCheckRequest{Service: "hep.v1.NoSuchService"})
	checkStatus(t, "health Check of an unknown service", err, codes.NotFound, "")

	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	must(t, "ServerReflectionInfo", err)
	must(t, "reflection ListServices", stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}))
	resp, err := stream.Recv()
	must(t, "reflection ListServices reply", err)
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{
		"hep.v1.AuthService", "hep.v1.AccountService", "hep.v1.PatientService",
		"hep.v1.DeviceService", "hep.v1.AuditService", "grpc.health.v1.Health",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v; %s missing", names, want)
		}
	}
	must(t, "reflection FileContainingSymbol", stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "hep.v1.PatientService"},
	}))
	resp, err = stream.Recv()
	must(t, "reflection FileContainingSymbol reply", err)
	if len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("reflection has no file for hep.v1.PatientService: %v", resp)
	}
	must(t, "closing the reflection stream", stream.CloseSend())
	if _, err := stream.Recv(); err == nil {
		t.Errorf("reflection stream: a reply after CloseSend")
	}
}
