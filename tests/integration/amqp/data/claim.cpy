      * A claim as the mainframe sends it: key, then the two model inputs as packed decimals.
       01 CLAIM-REC.
          05 CLAIM-ID            PIC X(8).
          05 MEAN-RADIUS         PIC S9(3)V9(3) COMP-3.
          05 MEAN-TEXTURE        PIC S9(3)V9(3) COMP-3.
