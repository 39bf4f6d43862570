package storage

import (
	"encoding/base64"
	"regexp"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

func TestHashPasswordArgon2id(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Fatalf("hash %q is not the expected PHC string", h)
	}
	if h2, _ := HashPassword("s3cret"); h2 == h {
		t.Error("two hashes of one password are equal: salt not random")
	}
	if ok, err := VerifyPassword(h, "s3cret"); !ok || err != nil {
		t.Errorf("VerifyPassword(right) = %v, %v", ok, err)
	}
	if ok, err := VerifyPassword(h, "wrong"); ok || err != nil {
		t.Errorf("VerifyPassword(wrong) = %v, %v", ok, err)
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("HashPassword(\"\") succeeded")
	}
}

func TestVerifyPasswordOtherParams(t *testing.T) {
	t.Parallel()
	// Parameters are read from the string: a hash made with other
	// parameters still verifies.
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("password"), salt, 1, 8192, 2, 24)
	h := "$argon2id$v=19$m=8192,t=1,p=2$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
	if ok, err := VerifyPassword(h, "password"); !ok || err != nil {
		t.Errorf("VerifyPassword(other params) = %v, %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "Password"); ok {
		t.Error("VerifyPassword(other params, wrong) = true")
	}
	for _, bad := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$AAAA",
		"$argon2id$v=18$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=99999999,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"plain",
		"$1$md5crypt",
	} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("VerifyPassword(%q) accepted a malformed hash", bad)
		}
	}
}

func TestVerifyPasswordBcrypt(t *testing.T) {
	t.Parallel()
	h, err := bcrypt.GenerateFromPassword([]byte("imported"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		hash := prefix + string(h[4:])
		if ok, err := VerifyPassword(hash, "imported"); !ok || err != nil {
			t.Errorf("%s: VerifyPassword(right) = %v, %v", prefix, ok, err)
		}
		if ok, err := VerifyPassword(hash, "wrong"); ok || err != nil {
			t.Errorf("%s: VerifyPassword(wrong) = %v, %v", prefix, ok, err)
		}
	}
}
