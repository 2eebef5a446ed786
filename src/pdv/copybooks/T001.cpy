       01  T001-REQUEST.
           05  T001-SOFTWARE-VERSION  PIC X(8).
           05  T001-OPERATOR-ID       PIC X(8).
           05  T001-REGION-CODE       PIC 9(3).
           05  T001-OPEN-DATE         PIC 9(8).

       01  T001-RESPONSE.
           05  T001-SESSION-ID        PIC X(12).
           05  T001-SERVER-TIME       PIC 9(17) COMP-3.
           05  T001-MEETING-COUNT     PIC 9(4)  COMP.
           05  T001-MEETING OCCURS 0 TO 12 TIMES
                   DEPENDING ON T001-MEETING-COUNT.
               10  T001-REUNION       PIC 9(2).
               10  T001-RACE-COUNT    PIC 9(2).
               10  T001-RACECOURSE    PIC X(20).
