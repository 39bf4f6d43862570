package imapd

import (
	"github.com/emersion/go-imap/v2"
)

// cmdCompress implements COMPRESS DEFLATE (RFC 4978): after the tagged
// OK both directions carry raw DEFLATE streams (compress.go). A second
// COMPRESS is NO [COMPRESSIONACTIVE]; another algorithm is BAD. As after
// STARTTLS, nothing may follow the command before the client has seen
// the OK (RFC 4978 §3): bytes already buffered would be read as
// uncompressed, so they are refused and the connection closed.
func (s *session) cmdCompress(r *request) error {
	alg, err := s.r.ReadCompressArgs()
	if err != nil {
		return err
	}
	if err := s.r.ReadCRLF(); err != nil {
		return err
	}
	if _, active := s.conn().(*compressConn); active {
		return no("COMPRESSIONACTIVE", "DEFLATE is active already")
	}
	if alg != "DEFLATE" {
		return bad("", "Unknown compression algorithm")
	}
	if s.r.Buffered() > 0 {
		s.w.Status(r.tag, imap.StatusResponseTypeBad, "", "Data after COMPRESS")
		s.state = stateLogout
		return errHandled
	}
	s.w.Status(r.tag, imap.StatusResponseTypeOK, "", "DEFLATE active")
	if err := s.w.Flush(); err != nil {
		return err
	}
	s.setConn(deflateConn(s.conn()))
	s.log.Info("compression on", "alg", "DEFLATE")
	return errHandled
}
