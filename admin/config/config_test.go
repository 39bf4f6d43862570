package config

import (
	"bytes"
	"context"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if err := Dev("").Validate(); err != nil {
		t.Fatalf("Dev(\"\").Validate() = %v", err)
	}
}

func TestDev(t *testing.T) {
	t.Parallel()
	c := Dev("")
	if c.Hostname != "mail.example.test" || c.DataDir != "./var" || !c.Dev {
		t.Errorf("Dev(\"\") = hostname %q, data_dir %q, dev %v", c.Hostname, c.DataDir, c.Dev)
	}
	if got := strings.Join(c.SMTP.Listen, ","); got != "127.0.0.1:2525" {
		t.Errorf("Dev smtp.listen = %q", got)
	}
	if d := Dev("/tmp/x"); d.DataDir != "/tmp/x" {
		t.Errorf("Dev(/tmp/x).DataDir = %q", d.DataDir)
	}
	def := Default()
	if c.SMTP.MaxMessageBytes != def.SMTP.MaxMessageBytes || !reflect.DeepEqual(c.Delivery, def.Delivery) {
		t.Errorf("Dev limits differ from Default")
	}
	if Default().Dev {
		t.Errorf("Default().Dev = true")
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	p := Config{DataDir: "/srv/yubin"}.Paths()
	want := Paths{DB: "/srv/yubin/yubin.db", Queue: "/srv/yubin/queue", Mail: "/srv/yubin/mail", TLS: "/srv/yubin/tls"}
	if p != want {
		t.Errorf("Paths() = %+v, want %+v", p, want)
	}
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h, err := Log{Format: "json", Level: "warn"}.Handler(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelWarn) {
		t.Errorf("json handler at warn: wrong levels enabled")
	}
	slog.New(h).Warn("hello")
	if !strings.HasPrefix(buf.String(), "{") {
		t.Errorf("json handler wrote %q", buf.String())
	}

	buf.Reset()
	h, err = Log{Format: "text", Level: "debug"}.Handler(&buf)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(h).Debug("hello")
	if !strings.Contains(buf.String(), "level=DEBUG msg=hello") {
		t.Errorf("text handler wrote %q", buf.String())
	}

	if _, err := (Log{Format: "xml", Level: "info"}).Handler(&buf); err == nil || !strings.Contains(err.Error(), "log.format") {
		t.Errorf("format xml: err = %v", err)
	}
	if _, err := (Log{Format: "text", Level: "verbose"}).Handler(&buf); err == nil || !strings.Contains(err.Error(), "log.level") {
		t.Errorf("level verbose: err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"empty hostname", func(c *Config) { c.Hostname = "" }, "hostname: must not be empty"},
		{"bad hostname", func(c *Config) { c.Hostname = "mail_1.example.com" }, "hostname: \"mail_1.example.com\" is not a valid DNS name"},
		{"hyphen label", func(c *Config) { c.Hostname = "-mail.example.com" }, "hostname:"},
		{"empty label", func(c *Config) { c.Hostname = "mail..example.com" }, "hostname:"},
		{"empty data_dir", func(c *Config) { c.DataDir = "" }, "data_dir: must not be empty"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format: unknown format \"xml\""},
		{"log level", func(c *Config) { c.Log.Level = "INFO" }, "log.level: unknown level \"INFO\""},
		{"key without cert", func(c *Config) { c.TLS.KeyFile = "k.pem" }, "tls.cert_file: must be set when tls.key_file is"},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "c.pem" }, "tls.key_file: must be set when tls.cert_file is"},
		{"no listen", func(c *Config) { c.SMTP.Listen = nil }, "smtp.listen: must list at least one address"},
		{"listen no port", func(c *Config) { c.SMTP.Listen = []string{"0.0.0.0"} }, "smtp.listen: \"0.0.0.0\": want host:port"},
		{"listen bad port", func(c *Config) { c.SMTP.Listen = []string{":smtp"} }, "smtp.listen: \":smtp\": bad port"},
		{"listen bad host", func(c *Config) { c.SMTP.Listen = []string{"a b:25"} }, "smtp.listen: \"a b:25\": bad host"},
		{"max_message_bytes", func(c *Config) { c.SMTP.MaxMessageBytes = 0 }, "smtp.max_message_bytes: must be > 0"},
		{"max_recipients", func(c *Config) { c.SMTP.MaxRecipients = -1 }, "smtp.max_recipients: must be > 0"},
		{"max_line_length", func(c *Config) { c.SMTP.MaxLineLength = 512 }, "smtp.max_line_length: must be >= 1000"},
		{"max_connections", func(c *Config) { c.SMTP.MaxConnections = 0 }, "smtp.max_connections: must be > 0"},
		{"max_connections_per_ip", func(c *Config) { c.SMTP.MaxConnectionsPerIP = 0 }, "smtp.max_connections_per_ip: must be > 0"},
		{"read_timeout", func(c *Config) { c.SMTP.ReadTimeout = 0 }, "smtp.read_timeout: must be > 0"},
		{"write_timeout", func(c *Config) { c.SMTP.WriteTimeout = -time.Second }, "smtp.write_timeout: must be > 0"},
		{"shutdown_timeout", func(c *Config) { c.SMTP.ShutdownTimeout = 0 }, "smtp.shutdown_timeout: must be > 0"},
		{"workers", func(c *Config) { c.Delivery.Workers = 0 }, "delivery.workers: must be > 0"},
		{"retry_min", func(c *Config) { c.Delivery.RetryMin = 0 }, "delivery.retry_min: must be > 0"},
		{"retry_max", func(c *Config) { c.Delivery.RetryMax = 0 }, "delivery.retry_max: must be > 0"},
		{"retry_max < retry_min", func(c *Config) { c.Delivery.RetryMax = time.Second }, "delivery.retry_max: must be >= delivery.retry_min"},
		{"max_age", func(c *Config) { c.Delivery.MaxAge = 0 }, "delivery.max_age: must be > 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Dev(t.TempDir())
			tt.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Hostname = "localhost"
	c.SMTP.Listen = []string{":25", "[::1]:2525", "127.0.0.1:0", "localhost:25"}
	c.TLS = TLS{CertFile: "c.pem", KeyFile: "k.pem"}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := Default()
	c.SMTP.MaxRecipients = 0
	c.Delivery.Workers = 0
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "smtp.max_recipients") || !strings.Contains(err.Error(), "delivery.workers") {
		t.Errorf("Validate() = %v, want both problems", err)
	}
}
