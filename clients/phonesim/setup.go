package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	hepv1 "github.com/hepclinic/hep/proto/hep/v1"
)

// tlsConfig is the TLS configuration the flags ask for, or nil for the
// hepclient default (TLS with system roots except to loopback).
func (c config) tlsConfig() (*tls.Config, error) {
	if !c.tls && c.caFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", c.caFile)
		}
	}
	return cfg, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
}

// readCodes reads enrollment codes, one per line; blank lines and lines
// starting with # are skipped.
func readCodes(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// makeCodes signs in as the admin, creates a clinician with a random
// password, and as that clinician creates n patients, screens them (no
// flag present), gives them a plan of cat-cow and child's pose, and makes
// an enrollment code for each. A plan that cannot be written is reported
// and skipped: the phones then follow their defaults.
func makeCodes(ctx context.Context, cfg config, n int, warn func(string, ...any)) ([]string, error) {
	pw, err := os.ReadFile(cfg.passwordFile)
	if err != nil {
		return nil, err
	}
	password := strings.TrimRight(string(pw), "\r\n")
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	var creds credentials.TransportCredentials = insecure.NewCredentials()
	if tc != nil || (!isLoopback(cfg.server) && !cfg.plaintext) {
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(tc)
	}
	conn, err := grpc.NewClient(cfg.server, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	call := func(tok string) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok), cancel
	}
	authc := hepv1.NewAuthServiceClient(conn)
	signIn := func(email, password string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := authc.SignIn(ctx, &hepv1.SignInRequest{Email: email, Password: password})
		if err != nil {
			return "", fmt.Errorf("signing in as %s: %w", email, err)
		}
		return r.Tokens.AccessToken, nil
	}
	admin, err := signIn(cfg.adminEmail, password)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 12)
	rand.Read(b)
	suffix := hex.EncodeToString(b)
	email, clinPassword := "phonesim-"+suffix[:8]+"@sim.example", "sim-"+suffix
	actx, cancel := call(admin)
	_, err = hepv1.NewAccountServiceClient(conn).CreateAccount(actx, &hepv1.CreateAccountRequest{
		Email: email, DisplayName: "Phonesim clinician", Role: hepv1.Role_ROLE_CLINICIAN, Password: clinPassword})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("creating the clinician: %w", err)
	}
	clin, err := signIn(email, clinPassword)
	if err != nil {
		return nil, err
	}
	patients := hepv1.NewPatientServiceClient(conn)
	screening := hepv1.NewScreeningServiceClient(conn)
	plans := hepv1.NewPlanServiceClient(conn)
	devices := hepv1.NewDeviceServiceClient(conn)
	today := time.Now().UTC()
	start := &hepv1.Date{Year: int32(today.Year()), Month: int32(today.Month()), Day: int32(today.Day())}
	var codes []string
	for i := range n {
		cctx, cancel := call(clin)
		p, err := patients.CreatePatient(cctx, &hepv1.CreatePatientRequest{DisplayName: fmt.Sprintf("Sim patient %d", i+1), TimeZone: "UTC"})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("creating patient %d: %w", i+1, err)
		}
		pid := p.Patient.Id
		var answers []*hepv1.ScreeningAnswerInput
		for f := hepv1.ScreeningFlag(1); f <= hepv1.ScreeningFlag_SCREENING_FLAG_ANTICOAGULANT_USE; f++ {
			answers = append(answers, &hepv1.ScreeningAnswerInput{Flag: f, Status: hepv1.FlagStatus_FLAG_STATUS_ABSENT})
		}
		_, err = screening.RecordScreeningAnswers(cctx, &hepv1.RecordScreeningAnswersRequest{PatientId: pid, Answers: answers})
		if err == nil {
			var version int64
			if cur, gerr := plans.GetPlan(cctx, &hepv1.GetPlanRequest{PatientId: pid}); gerr == nil {
				version = cur.GetPlan().GetVersion()
			}
			item := func(ex string, dose *hepv1.Dose) *hepv1.PlanItemSpec {
				return &hepv1.PlanItemSpec{ExerciseId: ex, Dose: dose, Frequency: &hepv1.Frequency{TimesPerDay: 1, DaysPerWeek: 5}, StartDate: start}
			}
			_, err = plans.SetPlan(cctx, &hepv1.SetPlanRequest{PatientId: pid, ExpectedVersion: version, Items: []*hepv1.PlanItemSpec{
				item("cat-cow", &hepv1.Dose{Sets: 2, Reps: 10}), item("childs-pose", &hepv1.Dose{Sets: 3, HoldSeconds: 30}),
			}})
		}
		if err != nil {
			warn("patient %d: no plan (%v); the phone follows its defaults", i+1, err)
		}
		code, err := devices.CreateEnrollmentCode(cctx, &hepv1.CreateEnrollmentCodeRequest{PatientId: pid})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("creating an enrollment code for patient %d: %w", i+1, err)
		}
		codes = append(codes, code.Code)
	}
	return codes, nil
}
